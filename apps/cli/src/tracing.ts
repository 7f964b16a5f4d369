import { startTracing, type Tracing, type TracingConfig } from '@unity/telemetry';
import { version } from './version';

/**
 * The config's `tracing:` section, started for one command (undefined when off): the first export that fails is
 * said once on stderr, the command goes on.
 */
export function startCliTracing(config: TracingConfig): Promise<Tracing | undefined> {
  let told = false;
  return startTracing(config, {
    env: process.env,
    serviceVersion: version,
    onExportError: (error) => {
      if (told) return;
      told = true;
      process.stderr.write(`unity: tracing: spans could not be sent to ${config.endpoint}: ${error.message}\n`);
    },
  });
}
