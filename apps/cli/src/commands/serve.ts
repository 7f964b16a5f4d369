import { type RunningServer, startServer } from '@unity/gateway';
import type { Command } from 'commander';
import { port, positiveNumber } from '../cli-process';
import { warnMissingRequiredModels } from '../required-models';

interface ServeOptions {
  config?: string;
  host?: string;
  port?: number;
  localModel?: string;
  drainTimeout?: number;
}

/** `unity serve`: the gateway, until SIGTERM or SIGINT, which drain in-flight requests before exiting. */
export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('serve the router on OpenAI- and Ollama-compatible HTTP endpoints, with metrics and a live dashboard')
    .option('--config <file>', 'config file (default: $UNITY_CONFIG, ./configs/system.yaml, built-in defaults)')
    .option('--host <host>', 'address to listen on; off loopback an API key is required (default: 127.0.0.1)')
    .option('--port <port>', 'port to listen on (default: 8787)', port)
    .option('--local-model <model>', 'also serve a GGUF model: a model-store name, or llamacpp/<file.gguf>')
    .option(
      '--drain-timeout <seconds>',
      'on SIGTERM, how long in-flight requests may finish (default: 10)',
      positiveNumber,
    )
    .addHelpText(
      'after',
      '\nThe API key comes from $UNITY_API_KEY (or server.api_key_env / server.api_key in the config).\n' +
        'Point any OpenAI client at http://HOST:PORT/v1 and any Ollama client at http://HOST:PORT.',
    )
    .action(async (options: ServeOptions) => {
      const server = await startServer({
        env: process.env,
        ...(options.config !== undefined ? { configPath: options.config } : {}),
        ...(options.host !== undefined ? { host: options.host } : {}),
        ...(options.port !== undefined ? { port: options.port } : {}),
        ...(options.localModel !== undefined ? { localModel: options.localModel } : {}),
        ...(options.drainTimeout !== undefined ? { drainTimeoutMs: options.drainTimeout * 1000 } : {}),
      });
      warnMissingRequiredModels(server.missingRequiredModels);
      process.stdout.write(
        `unity gateway listening on ${server.address} (config: ${server.configSource})\n` +
          `  models: ${server.models.map((m) => m.id).join(', ')}\n` +
          `  OpenAI: ${server.address}/v1   Ollama: ${server.address}   dashboard: ${server.address}/\n`,
      );
      stopOnSignals(server);
    });
}

function stopOnSignals(server: RunningServer): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    const inflight = server.gateway.inflight;
    process.stderr.write(`unity: ${signal}: no longer accepting; draining ${inflight} in-flight request(s)\n`);
    server.shutdown().then(
      (result) => {
        process.stderr.write(
          result.drained
            ? 'unity: stopped\n'
            : `unity: stopped; ${result.cancelled} request(s) cancelled at the deadline\n`,
        );
        // Keep-alive sockets to upstreams may linger: the server is closed, so leave now.
        process.exit(0);
      },
      (error: unknown) => {
        process.stderr.write(`unity: shutdown failed: ${error instanceof Error ? error.message : String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
