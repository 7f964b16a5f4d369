import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { agentConfigSection, agentSettingsFromConfig } from '@unity/convergence';
import { UnityError } from '@unity/core';
import {
  type BenchPrice,
  type BenchTask,
  benchChartSvg,
  benchModelsFromConfig,
  benchPrices,
  defaultBenchTasks,
  type ModelBenchResult,
  type ModelBenchSummary,
  parseBenchTasks,
  runModelBench,
} from '@unity/diagnostics';
import { serverConfigSchema } from '@unity/gateway';
import { loadConfig } from '@unity/llm-router';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { onInterrupt, positiveNumber } from '../cli-process';
import { formatTable } from '../terminal-io';

interface BenchModelsFlags {
  models: string[];
  tasks?: string;
  out: string;
  config?: string;
  timeout: number;
  pricePerMtok?: BenchPrice;
  json?: boolean;
}

const list = (value: string) =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** `--price-per-mtok IN,OUT`: US dollars per million input and output tokens, as `server.prices` writes them. */
function pricePerMtok(value: string): BenchPrice {
  const parts = value.split(',').map((p) => p.trim());
  const [input, output] = parts.map(Number);
  const price = (n: number | undefined): n is number => n !== undefined && Number.isFinite(n) && n >= 0;
  if (parts.length !== 2 || parts.some((p) => p === '') || !price(input) || !price(output)) {
    throw new InvalidArgumentError(
      `expected IN,OUT: US dollars per million input and per million output tokens, e.g. 0.3,1.2 (got "${value}")`,
    );
  }
  return { input_per_mtok: input, output_per_mtok: output };
}

const fixed = (value: number | null, digits: number, unit = '') =>
  value === null ? '–' : `${value.toFixed(digits)}${unit}`;

function tableRows(models: readonly ModelBenchSummary[]): string[][] {
  return [
    ['model', 'pass rate', 'passed', 'latency p50', 'first token p50', 'tokens/s', 'cost', 'errors'],
    ...models.map((m) => [
      m.model,
      m.passRate === null ? '–' : `${Math.round(m.passRate * 100)}%`,
      m.checked === 0 ? '–' : `${m.passed}/${m.checked}`,
      fixed(m.latencyMs, 0, ' ms'),
      fixed(m.ttftMs, 0, ' ms'),
      fixed(m.tokensPerSecond, 1),
      m.costUsd === null ? '–' : `$${m.costUsd.toFixed(4)}`,
      String(m.errors),
    ]),
  ];
}

/** The bench's tasks: `--tasks FILE` (JSON or YAML), else the built-in set. */
async function benchTasks(file: string | undefined): Promise<readonly BenchTask[]> {
  if (file === undefined) return defaultBenchTasks;
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new UnityError({
      code: 'INVALID_OPTION',
      message: `--tasks ${file} cannot be read: ${error.code === 'ENOENT' ? 'no such file' : error.message}`,
      fix: 'give a JSON or YAML file of { tasks: [...] } (see `unity bench models --help`)',
      cause: error,
    });
  });
  return parseBenchTasks(text, file);
}

async function writeResults(dir: string, result: ModelBenchResult): Promise<{ json: string; svg: string }> {
  const json = join(dir, 'model-bench.json');
  const svg = join(dir, 'model-bench.svg');
  await mkdir(dir, { recursive: true });
  await writeFile(json, `${JSON.stringify(result, null, 2)}\n`);
  await writeFile(svg, benchChartSvg(result));
  return { json, svg };
}

/** `unity bench models --models a,b,c`: the same tasks against each model, as a table, JSON and an SVG chart. */
export function registerBenchCommand(program: Command): void {
  const bench = program.command('bench').description('measure models side by side');
  bench
    .command('models')
    .description(
      'run the same tasks against each model: latency, time to first token, tokens/s, pass rate and cost, as a table, JSON and an SVG chart',
    )
    .requiredOption(
      '--models <list>',
      'comma-separated model strings: Ollama tags, llamacpp/<file.gguf>, minimax/MiniMax-M2 … (any the router takes)',
      list,
    )
    .option(
      '--tasks <file>',
      'a JSON or YAML file of { tasks: [...] } (default: the built-in coding and tool-calling set)',
    )
    .option('--out <dir>', 'where model-bench.json and model-bench.svg are written', 'bench-results')
    .option('--config <file>', 'config file (default: $UNITY_CONFIG, else ./configs/system.yaml, else built-in)')
    .option('--timeout <seconds>', 'bound on each task (a cold local model loads within it)', positiveNumber, 120)
    .option(
      '--price-per-mtok <in,out>',
      'US dollars per million input and output tokens of every model, as server.prices (default: the configured prices)',
      pricePerMtok,
    )
    .addOption(
      new Option('--price-per-1k <in,out>').hideHelp().argParser(() => {
        throw new InvalidArgumentError(
          'was renamed --price-per-mtok: US dollars per million tokens, like server.prices (multiply by 1000)',
        );
      }),
    )
    .option('--json', 'print the whole result as JSON instead of the table')
    .addHelpText(
      'after',
      '\nEach model gets each task alone (no fallback, no retry, no cache), one at a time, streamed at temperature 0.\n' +
        'A task file: tasks: [{ id, category?, prompt, system?, tools?: [{name, description, parameters}],\n' +
        '  max_output_tokens?, check?: {type: regex, pattern, flags?} | {type: contains, text, ignore_case?} |\n' +
        '  {type: json, matches?} | {type: tool_call, name, arguments?} }]\n' +
        'Cost comes from --price-per-mtok, else server.prices and agent.budget.prices; "–" where no price applies.\n' +
        'Progress goes to stderr. Exit status 0 once every model was tried, whatever it scored.',
    )
    .action(async (flags: BenchModelsFlags) => {
      if (flags.models.length === 0) {
        throw new UnityError({
          code: 'INVALID_OPTION',
          message: '--models names no model',
          fix: 'give comma-separated model strings, e.g. --models qwen2.5-coder:7b,minimax/MiniMax-M2',
        });
      }
      const tasks = await benchTasks(flags.tasks);
      const { config } = await loadConfig({
        ...(flags.config === undefined ? {} : { path: flags.config }),
        cwd: process.cwd(),
        env: process.env,
        sections: { agent: agentConfigSection, server: serverConfigSchema },
      });
      const agentPrices = agentSettingsFromConfig(config).budget?.prices;
      const prices = benchPrices({
        serverPrices: config.server.prices,
        ...(agentPrices ? { agentPrices } : {}),
        ...(flags.pricePerMtok ? { everyModel: flags.pricePerMtok } : {}),
      });
      const { models, close } = benchModelsFromConfig(flags.models, { config, env: process.env, cwd: process.cwd() });
      const controller = new AbortController();
      const stopInterrupt = onInterrupt(() => controller.abort(new Error('interrupted')));
      let result: ModelBenchResult;
      try {
        result = await runModelBench({
          models,
          tasks,
          timeoutMs: flags.timeout * 1000,
          signal: controller.signal,
          ...(prices ? { prices } : {}),
          onEvent: ({ index, total, model, result: r }) => {
            const verdict = r.error
              ? `error: ${r.error}`
              : r.passed === null
                ? 'done'
                : r.passed
                  ? 'pass'
                  : `fail: ${r.reason}`;
            process.stderr.write(
              `[${index}/${total}] ${model} · ${r.task} · ${Math.round(r.latencyMs)} ms · ${verdict}\n`,
            );
          },
        });
      } finally {
        stopInterrupt();
        await close();
      }
      const written = await writeResults(resolve(flags.out), result);
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      } else {
        const lines = [formatTable(tableRows(result.models))];
        const failing = result.models.filter((m) => m.firstError !== undefined);
        if (failing.length > 0) lines.push('');
        for (const m of failing) {
          lines.push(`${m.model}: ${m.errors} of ${m.tasks} tasks failed: ${m.firstError?.split('\n')[0]}`);
        }
        process.stdout.write(`${lines.join('\n')}\n`);
      }
      process.stderr.write(`wrote ${written.json} and ${written.svg}\n`);
    });
}
