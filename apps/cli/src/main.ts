import { reportCliError } from './cli-error';
import { exitQuietlyWhenStdoutCloses, INTERRUPTED, wasInterrupted } from './cli-process';
import { buildProgram } from './program';

exitQuietlyWhenStdoutCloses();
try {
  await buildProgram().parseAsync(process.argv);
} catch (error) {
  if (wasInterrupted()) {
    process.stderr.write('unity: interrupted\n');
    process.exitCode = INTERRUPTED;
  } else process.exitCode = reportCliError(error);
}
