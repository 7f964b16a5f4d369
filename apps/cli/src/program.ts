import { Command } from 'commander';
import { registerAskCommand } from './commands/ask';
import { registerBenchCommand } from './commands/bench';
import { registerConfigCommand } from './commands/config';
import { registerDoctorCommand } from './commands/doctor';
import { registerDomainsCommand } from './commands/domains';
import { registerEvolveCommand } from './commands/evolve';
import { registerEvolveWorkerCommand } from './commands/evolve-worker';
import { registerKeysCommand } from './commands/keys';
import { registerMcpCommand } from './commands/mcp';
import { registerModelsCommand } from './commands/models';
import { registerRunCommand } from './commands/run';
import { registerServeCommand } from './commands/serve';
import { version } from './version';

/** The `unity` command tree. Each command parses its input, calls the libraries and formats their output. */
export function buildProgram(): Command {
  const program = new Command('unity')
    .description('Unity: hybrid cloud/local LLM toolkit — router, tools, agent loop, evolution, diagnostics')
    .version(version, '-v, --version', 'print the version')
    .showHelpAfterError('(add --help for usage)')
    .configureHelp({ sortSubcommands: true });
  registerAskCommand(program);
  registerBenchCommand(program);
  registerConfigCommand(program);
  registerDoctorCommand(program);
  registerDomainsCommand(program);
  registerEvolveCommand(program);
  registerEvolveWorkerCommand(program);
  registerKeysCommand(program);
  registerMcpCommand(program);
  registerModelsCommand(program);
  registerRunCommand(program);
  registerServeCommand(program);
  return program;
}
