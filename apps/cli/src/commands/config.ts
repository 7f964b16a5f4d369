import { describeOrigin, explainSettings } from '@unity/config';
import { agentConfigSection } from '@unity/convergence';
import { alertsConfigSchema, serverConfigSchema } from '@unity/gateway';
import { reportConfigSection, reportEnvBindings } from '@unity/gateway/run-report';
import { loadConfig, modelPrefixes } from '@unity/llm-router';
import { tracingConfigSection, tracingEnvBindings } from '@unity/telemetry';
import { createTextgradConfigSection } from '@unity/textgrad';
import { toolsConfigSection, toolsEnvBindings } from '@unity/tools';
import type { Command } from 'commander';
import { formatTable } from '../terminal-io';

/** Every section the libraries own, validated together with the router's, and the variables that stand in for them. */
const configSections = {
  agent: agentConfigSection,
  alerts: alertsConfigSchema,
  report: reportConfigSection,
  server: serverConfigSchema,
  textgrad: createTextgradConfigSection({ providers: Object.keys(modelPrefixes) }),
  tools: toolsConfigSection,
  tracing: tracingConfigSection,
};
const configEnvBindings = [...toolsEnvBindings, ...reportEnvBindings, ...tracingEnvBindings];

interface ShowFlags {
  config?: string;
  json?: boolean;
}

async function load(path: string | undefined) {
  return loadConfig({
    ...(path === undefined ? {} : { path }),
    cwd: process.cwd(),
    env: process.env,
    sections: configSections,
    envBindings: configEnvBindings,
  });
}

/** `unity config show|validate`: the effective configuration and where each value came from; checking a file. */
export function registerConfigCommand(program: Command): void {
  const config = program.command('config').description('show the effective configuration, or validate a config file');
  config
    .command('show')
    .description('print every setting with its value and where it came from (default, file:line, env); secrets masked')
    .option(
      '--config <file>',
      'config file (default: $UNITY_CONFIG, else ./configs/system.yaml, else built-in defaults)',
    )
    .option('--json', 'print one JSON object: the source file and every setting with its value and origin')
    .action(async (flags: ShowFlags) => {
      const loaded = await load(flags.config);
      const rows = explainSettings(loaded);
      if (flags.json) {
        const settings = rows.map((r) => ({ path: r.path, value: r.value, origin: describeOrigin(r.origin) }));
        process.stdout.write(`${JSON.stringify({ source: loaded.source, settings }, null, 2)}\n`);
        return;
      }
      process.stdout.write(`config: ${loaded.source}\n\n`);
      const table = rows.map((r) => [r.path, JSON.stringify(r.value) ?? 'null', describeOrigin(r.origin)]);
      process.stdout.write(`${formatTable([['setting', 'value', 'from'], ...table])}\n`);
    });
  config
    .command('validate')
    .description('check a config file: every section, every value; exit 1 naming each problem with its line and fix')
    .argument('[file]', 'the file (default: $UNITY_CONFIG, else ./configs/system.yaml)')
    .action(async (file: string | undefined) => {
      const loaded = await load(file);
      process.stdout.write(`${loaded.source}: valid\n`);
    });
}
