import { resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import {
  type AgentEvent,
  type AgentOptions,
  type AgentResult,
  type AgentToolExecutor,
  agentConfigSection,
  agentSettingsFromConfig,
  runTracedAgent,
  type StopReason,
} from '@unity/convergence';
import type { ChatModel, ToolCall } from '@unity/core';
import { agentFromDomain, classifyTask, type DomainPreset } from '@unity/domains';
import { reportConfigSection, reportEnvBindings } from '@unity/gateway/run-report';
import { createRouter, loadConfig, type Router, traceRouter } from '@unity/llm-router';
import { tracingConfigSection, tracingEnvBindings } from '@unity/telemetry';
import {
  createToolExecutor,
  type ToolExecutorOptions,
  toolExecutorSettings,
  toolsConfigSection,
  toolsEnvBindings,
} from '@unity/tools';
import type { Command } from 'commander';
import { addBudgetOptions, type BudgetFlags, budgetFromFlags } from '../budget-options';
import { positiveInteger } from '../cli-process';
import { addReportOptions, closeReporter, type ReportFlags, reporterFor } from '../report-options';
import { requireModelsAtStart } from '../required-models';
import { warnIfUnconfined } from '../sandbox-settings';
import { readStdin } from '../terminal-io';
import { startCliTracing } from '../tracing';
import { loadCatalog } from './domains';

/** Exit status for each way a run can end: 0 only when the model finished. */
const runExitCodes: Record<StopReason, number> = {
  completed: 0,
  error: 1,
  max_iterations: 3,
  stuck: 4,
  budget_tokens: 5,
  budget_time: 5,
  budget_cost: 5,
  aborted: 130,
};

interface RunFlags extends BudgetFlags, ReportFlags {
  config?: string;
  root: string;
  domain?: string;
  domainsDir?: string;
  maxIterations?: number;
  json?: boolean;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
const clip = (text: string, max = 100) => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

/** One progress line for an event, or undefined for events not worth a line. */
function progressLine(event: AgentEvent, state: { provider?: string }): string | undefined {
  const at = `step ${event.iteration} · ${seconds(event.elapsedMs)}`;
  switch (event.type) {
    case 'model-call':
      return event.iteration === 1 ? `${at} · asking the model (${event.tools} tools offered)` : undefined;
    case 'model-response': {
      if (event.provider === undefined || event.provider === state.provider) return undefined;
      const first = state.provider === undefined;
      state.provider = event.provider;
      return `${at} · ${first ? 'answering' : 'now answering'}: ${event.provider} (${event.model})`;
    }
    case 'tool-call':
      return `${at} · ${event.call.name} ${clip(event.call.rawArguments || JSON.stringify(event.call.arguments))}`;
    case 'tool-result':
      return event.result.ok
        ? undefined
        : `${at} · ${event.call.name} failed: ${clip(event.result.error?.message ?? event.result.content)}`;
    case 'reminder':
      return `${at} · reminder after ${event.toolCalls} tool calls: ${event.threshold.level}`;
    case 'nudge':
      return `${at} · repetition: ${clip(event.pattern.description, 160)}`;
    case 'compacted':
      return `${at} · context compacted: about ${event.tokensBefore} → ${event.tokensAfter} tokens (${event.elidedMessages} old messages elided)`;
    case 'final-request':
      return `${at} · iteration limit reached: asking for the final answer without tools`;
    case 'stop': {
      const r = event.result;
      const calls = Object.values(r.toolCalls).reduce((a, b) => a + b, 0);
      return `${r.stopReason} · ${r.iterations} steps, ${calls} tool calls, ${r.usage.totalTokens} tokens, ${seconds(r.elapsedMs)}`;
    }
    default:
      return undefined;
  }
}

/** Why a run that did not complete stopped, for stderr. */
export function stopMessage(result: AgentResult): string {
  switch (result.stopReason) {
    case 'completed':
      return '';
    case 'max_iterations':
      return result.answer.trim() === ''
        ? `stopped at the iteration limit (${result.iterations}); asked for a final answer without tools, the model gave none`
        : `stopped at the iteration limit (${result.iterations}); the answer printed is the model's final answer, given without tools`;
    case 'stuck':
      return `stopped: stuck: ${result.stuck?.description ?? 'repetition'}`;
    case 'budget_tokens':
      return `stopped: token budget spent (${result.usage.totalTokens} tokens)`;
    case 'budget_time':
      return `stopped: time budget spent (${seconds(result.elapsedMs)})`;
    case 'budget_cost':
      return `stopped: cost budget spent ($${result.costUsd.toFixed(4)})`;
    case 'aborted':
      return 'stopped: aborted';
    case 'error':
      return `failed: ${result.error?.message ?? 'unknown error'}`;
  }
}

/** Ask on the terminal before a command the policy does not allow on its own; refuse when nobody can answer. */
function terminalApproval(interactive: boolean) {
  return async ({ call, reason }: { call: ToolCall; reason: string }): Promise<boolean> => {
    if (!interactive) return false;
    const prompt = createInterface({ input: process.stdin, output: process.stderr });
    try {
      const args = clip(call.rawArguments || JSON.stringify(call.arguments), 200);
      const answer = await prompt.question(`unity: allow ${call.name} ${args}? (${reason}) [y/N] `);
      return /^y(es)?$/i.test(answer.trim());
    } finally {
      prompt.close();
    }
  };
}

interface Agent {
  model: ChatModel;
  tools: AgentToolExecutor;
  options: Partial<Pick<AgentOptions, 'system' | 'request' | 'maxIterations' | 'convergenceWarnings' | 'budget'>>;
}

/** The model, tools and limits of a domain preset (`--domain NAME`, or `auto` to let the model classify the task). */
async function domainAgent(
  domain: string,
  task: string,
  flags: RunFlags,
  router: Router,
  executorOptions: ToolExecutorOptions,
  signal: AbortSignal,
): Promise<Agent> {
  const catalog = await loadCatalog(flags);
  let preset: DomainPreset;
  if (domain === 'auto') {
    const chosen = await classifyTask(task, { presets: catalog.presets, model: router, signal });
    preset = chosen.preset;
    const why = chosen.modelError ? `; the model could not classify it: ${chosen.modelError}` : '';
    process.stderr.write(`domain: ${preset.name} (${chosen.method}: ${chosen.reason}${why})\n`);
  } else preset = catalog.require(domain).preset;
  const all = createToolExecutor(executorOptions);
  const agent = agentFromDomain(preset, { availableTools: all.tools, models: router });
  if (agent.missingTools.length > 0) {
    process.stderr.write(
      `domain ${agent.domain}: tools not available here, left out: ${agent.missingTools.join(', ')}\n`,
    );
  }
  return {
    model: agent.model,
    tools: createToolExecutor({ ...executorOptions, tools: all.tools.filter((t) => agent.tools.includes(t.name)) }),
    options: agent.options,
  };
}

export function registerRunCommand(program: Command): void {
  const command = program
    .command('run')
    .description('work through a task with tools until the model answers or a limit stops it')
    .argument('<task>', 'the task ("-" reads it from stdin)')
    .option('--config <file>', 'config file (default: $UNITY_CONFIG, else ./configs/system.yaml, else built-in)')
    .option('--root <dir>', 'workspace root the tools may read and write', '.')
    .option(
      '--domain <name>',
      'a domain preset (its model, tools, prompt and limits replace the config\'s), or "auto" to classify the task',
    )
    .option('--domains-dir <dir>', 'folder of domain files (default: domains/ beside the config)')
    .option('--max-iterations <n>', 'hard limit on model calls (default: config max_iterations)', positiveInteger)
    .option('--json', 'print one JSON object: answer, stop reason, iterations, tool calls by name, usage')
    .addHelpText(
      'after',
      '\nProgress goes to stderr, the answer to stdout. Commands the policy does not allow are asked about on a\n' +
        'terminal and refused otherwise.\n' +
        'Exit status: 0 completed, 1 error, 3 max_iterations, 4 stuck, 5 budget, 130 aborted.',
    )
    .action(async (taskArg: string, flags: RunFlags) => {
      const fromStdin = taskArg === '-';
      const task = fromStdin ? await readStdin() : taskArg;
      const { config } = await loadConfig({
        ...(flags.config === undefined ? {} : { path: flags.config }),
        cwd: process.cwd(),
        env: process.env,
        sections: {
          agent: agentConfigSection,
          tools: toolsConfigSection,
          report: reportConfigSection,
          tracing: tracingConfigSection,
        },
        envBindings: [...toolsEnvBindings, ...reportEnvBindings, ...tracingEnvBindings],
      });
      const { command: confinement, ...toolSettings } = toolExecutorSettings(config.tools);
      warnIfUnconfined(confinement);
      await requireModelsAtStart(config);
      const settings = agentSettingsFromConfig(config);
      const root = resolve(flags.root);
      // Before tracing and the router: a bad --report address fails the command with nothing to close.
      const reporter = reporterFor('agent', task, flags, config.report, process.env);
      // `tracing:` (off by default): the run's spans (agent, steps, tools, router) over OTLP/HTTP.
      const tracing = await startCliTracing(config.tracing);
      const router = createRouter({ config, env: process.env });
      const untrace = traceRouter(router, tracing?.tracer);
      const runTraced = (options: AgentOptions) => runTracedAgent(options, { tracer: tracing?.tracer });
      const controller = new AbortController();
      const onSigint = () => controller.abort();
      process.once('SIGINT', onSigint);
      const executorOptions: ToolExecutorOptions = {
        root,
        ...toolSettings,
        command: { env: process.env, ...confinement },
        approve: terminalApproval(!fromStdin && process.stdin.isTTY === true && process.stderr.isTTY === true),
      };
      const state: { provider?: string } = {};
      const write = (line: string) => process.stderr.write(`${line}\n`);
      if (reporter) write(`reporting to ${reporter.runUrl}`);
      try {
        const agent: Agent = flags.domain
          ? await domainAgent(flags.domain, task, flags, router, executorOptions, controller.signal)
          : { model: router, tools: createToolExecutor(executorOptions), options: {} };
        // Precedence: flags, then the domain preset, then the config file.
        const budget = budgetFromFlags(flags, { ...settings.budget, ...agent.options.budget });
        const result = await runTraced({
          ...settings,
          ...agent.options,
          ...(flags.maxIterations === undefined ? {} : { maxIterations: flags.maxIterations }),
          budget,
          model: agent.model,
          tools: agent.tools,
          task,
          root,
          signal: controller.signal,
          onEvent: (event) => {
            reporter?.report(event);
            const line = progressLine(event, state);
            if (line !== undefined) write(line);
          },
        });
        if (flags.json) {
          const { messages: _messages, ...summary } = result;
          process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
        } else if (result.answer !== '') {
          process.stdout.write(result.answer.endsWith('\n') ? result.answer : `${result.answer}\n`);
        }
        if (result.stopReason !== 'completed') write(`unity: ${stopMessage(result)}`);
        process.exitCode = runExitCodes[result.stopReason];
      } finally {
        process.off('SIGINT', onSigint);
        untrace();
        await tracing?.shutdown();
        await Promise.all([router.close(), closeReporter(reporter)]);
      }
    });
  addBudgetOptions(command);
  addReportOptions(command);
}
