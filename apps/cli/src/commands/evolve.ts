import type { ChatModel } from '@unity/core';
import { UnityError } from '@unity/core';
import {
  type ReportSettings,
  type RunReporter,
  reportConfigSection,
  reportEnvBindings,
} from '@unity/gateway/run-report';
import { createRouter, loadConfig, modelPrefixes, type Router, traceRouter } from '@unity/llm-router';
import { type Tracing, type TracingConfig, tracingConfigSection, tracingEnvBindings } from '@unity/telemetry';
import {
  type BanditPolicy,
  banditPolicies,
  Cassette,
  type CassetteMode,
  commandEvaluator,
  createRemoteEvaluator,
  createTextgradConfigSection,
  defaultStrategies,
  type Evaluator,
  type EvaluatorSpec,
  type EvolutionError,
  type EvolutionEvent,
  type EvolutionResult,
  type EvolutionSettings,
  type EvolveFileOptions,
  evaluatorFiles,
  evolutionRunId,
  evolutionSettings,
  evolveFile,
  type ModelChoice,
  parseModelChoice,
  type RemoteEvaluator,
  runTracedEvolution,
  type ScoringWeights,
  scoringEvaluator,
  testCommandEvaluator,
  type WrittenVariant,
} from '@unity/textgrad';
import { type SandboxSettings, toolsConfigSection } from '@unity/tools';
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import { type Command, Option } from 'commander';
import pc from 'picocolors';
import { addBudgetOptions, type BudgetFlags, budgetFromFlags } from '../budget-options';
import { fraction, nonNegativeInteger, positiveInteger, positiveNumber, scoreValue } from '../cli-process';
import { addReportOptions, closeReporter, type ReportFlags, reporterFor } from '../report-options';
import { sandboxFromConfig } from '../sandbox-settings';
import { startCliTracing } from '../tracing';

interface EvolveFlags extends BudgetFlags, ReportFlags {
  eval?: string;
  judge?: string | true;
  judgeWeight?: number;
  allowCloud?: boolean;
  evalType: 'score' | 'tests';
  evalFiles?: string[];
  evalTimeout: number;
  holdout?: string;
  generations: number;
  strategies?: string[];
  bandit: BanditPolicy;
  elites: number;
  concurrency: number;
  redis?: string;
  queue?: string;
  log: string;
  resume: boolean;
  seed: number;
  config?: string;
  out?: string;
  json?: boolean;
  cassette?: string;
  cassetteMode: CassetteMode;
  stopFile?: string;
  target: number;
}

const list = (value: string) =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** `unity evolve <file> --eval "<command>"`: evolve a file with the coding model, a scoring command and a bandit. */
export function registerEvolveCommand(program: Command): void {
  const command = program
    .command('evolve')
    .description(
      'evolve a file: the coding model proposes variants, a command and/or an LLM judge scores them, a bandit picks strategies',
    )
    .argument('<file>', 'the file to improve (the best variant is written back; the original is kept as <file>.orig)')
    .option(
      '--eval <command>',
      'scores a candidate: run with its path as the last argument, prints 0–100 or {"score","feedback"}',
    )
    .option(
      '--judge [model]',
      'score with an LLM judge (0–100 with feedback), alone or with --eval: a role or a model (default: textgrad.model_judge)',
    )
    .option(
      '--judge-weight <share>',
      "the judge's share of the score with --eval, 0–1 (default: textgrad.judge_weight, 0.5: equal weights)",
      fraction,
    )
    .option('--allow-cloud', 'let the coder and the judge use the cloud model (overrides textgrad.local_only: true)')
    .addOption(
      new Option('--eval-type <type>', 'score: last stdout line is the score; tests: pass ratio of a test run')
        .choices(['score', 'tests'])
        .default('score'),
    )
    .option(
      '--eval-files <paths>',
      'files copied beside the candidate for the evaluator (default: files --eval names)',
      list,
    )
    .option('--eval-timeout <seconds>', 'kill an evaluation after this long', positiveNumber, 60)
    .option('--holdout <command>', 'a second scoring command run on each new best, to catch a gamed evaluator')
    .option('--generations <n>', 'generations to run (a resumed run counts those in the log)', nonNegativeInteger, 10)
    .option('--strategies <names>', `comma-separated subset of ${defaultStrategies.map((s) => s.name).join(',')}`, list)
    .addOption(
      new Option('--bandit <policy>', 'how strategies are chosen').choices([...banditPolicies]).default('thompson'),
    )
    .option('--elites <n>', 'best candidates kept as parents', positiveInteger, 4)
    .option('--concurrency <n>', 'candidates proposed and evaluated at once (and per generation)', positiveInteger, 1)
    .option('--redis <url>', 'queue evaluations on Redis for `unity evolve-worker` processes (needs bullmq)')
    .option('--queue <name>', 'queue name for --redis', 'unity-evolve')
    .option('--log <file>', 'JSONL log, one line per candidate; rerun with it to resume', './logs/evolution.jsonl')
    .option('--no-resume', 'start afresh even when the log has lines')
    .option('--seed <n>', 'seeds every random choice', nonNegativeInteger, 0)
    .option('--config <file>', 'config file (default: $UNITY_CONFIG, else ./configs/system.yaml, else built-in)')
    .option('--out <file>', 'write the best variant here instead of over <file>')
    .option('--json', 'print the summary as one JSON object')
    .option('--cassette <file>', 'record or replay the coder’s and judge’s replies (replay needs no model)')
    .addOption(new Option('--cassette-mode <mode>', 'with --cassette').choices(['record', 'replay']).default('replay'))
    .option('--stop-file <file>', 'end after the current generation once this file exists')
    .option('--target <score>', 'stop when the best reaches this score', scoreValue, 100)
    .addHelpText(
      'after',
      '\nThe coder and the judge are `textgrad.model_coder` and `textgrad.model_judge` (default: the router’s `coding`\n' +
        'role, i.e. models.coding), and local only unless `textgrad.local_only: false` or --allow-cloud. With --eval and\n' +
        '--judge the score is (1 − w) × eval + w × judge, w = --judge-weight; both parts are printed.\n\n' +
        'Evaluations run in a sandbox: a temporary copy, their own process group killed at the timeout, no API keys\n' +
        'in the environment, and as `nobody` when run as root. Ctrl-C (or the stop file) ends the run with the best\n' +
        'so far. Exit status: 0 done, 1 error, 130 interrupted (the best so far is still written).\n\n' +
        'Budget: the same flags as `unity run`. --price-per-1k IN,OUT gives the coder’s and judge’s US dollars per\n' +
        '1000 input and output tokens; with it the summary shows the run’s cost and --max-cost-usd can stop it\n' +
        '(without it, --max-cost-usd is refused). --max-total-tokens and --max-seconds stop it by tokens and time.',
    )
    .action(async (file: string, flags: EvolveFlags) => {
      await runEvolve(file, flags);
    });
  addBudgetOptions(command);
  addReportOptions(command);
}

async function runEvolve(file: string, flags: EvolveFlags): Promise<void> {
  if (flags.eval === undefined && flags.judge === undefined) {
    throw new UnityError({
      code: 'INVALID_OPTION',
      message: 'nothing scores the candidates: give --eval <command>, --judge [model], or both',
      fix: 'add --eval "<command that prints 0–100>" (e.g. a test run with --eval-type tests), or --judge for the LLM judge',
    });
  }
  const budget = budgetFromFlags(flags);
  const strategies = pickStrategies(flags.strategies);
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts += 1;
    if (interrupts > 1) process.exit(130);
    process.stderr.write('\nunity: stopping after the candidates in flight are cancelled (Ctrl-C again to quit now)\n');
    controller.abort(new Error('interrupted (SIGINT)'));
  };
  process.on('SIGINT', onSigint);
  // Built inside the try, so a failure of either (a bad config, an unreachable model) still closes the evaluator's
  // Redis connections and removes the handler: the process exits with the error instead of hanging.
  let evaluator: Awaited<ReturnType<typeof buildEvaluator>> | undefined;
  let models: Models | undefined;
  let progress: Progress | undefined;
  let reporter: RunReporter<'evolution'> | undefined;
  let run: Awaited<ReturnType<typeof evolveFile>>;
  let scoring: ScoringWeights = {};
  let tracing: Tracing | undefined;
  let untrace = () => {};
  try {
    const settings = await loadSettings(flags);
    // `tracing:` (off by default): the run's spans (generations, evaluations, router calls) over OTLP/HTTP.
    tracing = await startCliTracing(settings.tracing);
    reporter = reporterFor('evolution', file, flags, settings.report, process.env);
    if (reporter) process.stderr.write(`reporting to ${reporter.runUrl}\n`);
    models = buildModels(flags, settings);
    if (models.router) untrace = traceRouter(models.router, tracing?.tracer);
    const tracer = tracing?.tracer;
    const evolveTraced = (options: EvolveFileOptions) =>
      runTracedEvolution(options, { tracer }, (traced) => evolveFile(file, traced));
    evaluator = await buildEvaluator(flags, settings, models);
    scoring = evaluator.weights;
    const events = new Progress(flags.generations);
    progress = events;
    // The best variant is written even when the run was interrupted; a failed write comes back as writeError.
    run = await evolveTraced({
      ...(flags.out ? { out: flags.out } : {}),
      evaluator: evaluator.main,
      ...(evaluator.holdout ? { holdout: evaluator.holdout } : {}),
      coder: models.coder,
      strategies,
      bandit: flags.bandit,
      elites: flags.elites,
      generations: flags.generations,
      concurrency: flags.concurrency,
      seed: flags.seed,
      logFile: flags.log,
      resume: flags.resume,
      targetScore: flags.target,
      signal: controller.signal,
      ...(flags.stopFile ? { stopFile: flags.stopFile } : {}),
      ...(models.cassette ? { cassette: models.cassette } : {}),
      budget,
      onEvent: (event) => {
        reporter?.report(event);
        events.on(event);
      },
    });
  } finally {
    progress?.stop();
    process.off('SIGINT', onSigint);
    untrace();
    await tracing?.shutdown();
    await Promise.allSettled([models?.router?.close(), evaluator?.close(), closeReporter(reporter)]);
  }
  // The summary is printed even when the write fails: a long run's results are never lost to a bad --out.
  const { result, written, writeError } = run;
  const summary = summarize(file, flags.log, result, written, writeError, scoring);
  process.stdout.write(flags.json ? `${JSON.stringify(summary)}\n` : formatSummary(summary, result));
  if (writeError) throw writeError;
  if (result.stopReason === 'aborted') process.exitCode = 130;
  else if (run.allFailed) throw run.allFailed;
}

function pickStrategies(names: string[] | undefined) {
  if (!names) return defaultStrategies;
  const known = new Map(defaultStrategies.map((s) => [s.name, s]));
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length > 0 || names.length === 0) {
    throw new UnityError({
      code: 'INVALID_OPTION',
      message: `--strategies: unknown strategy ${unknown.map((n) => `"${n}"`).join(', ') || '(none given)'}`,
      fix: `choose from ${[...known.keys()].join(', ')}`,
    });
  }
  return [...new Set(names)].map((n) => known.get(n) as (typeof defaultStrategies)[number]);
}

interface Settings {
  confinement: SandboxSettings;
  evolution: EvolutionSettings;
  report: ReportSettings;
  tracing: TracingConfig;
  config: Awaited<ReturnType<typeof loadConfig>>['config'];
}

/** The config (`--config`, else `UNITY_CONFIG`, else ./configs/system.yaml): its `tools:`, `textgrad:`, `report:`. */
async function loadSettings(flags: EvolveFlags): Promise<Settings> {
  const { config } = await loadConfig({
    ...(flags.config === undefined ? {} : { path: flags.config }),
    cwd: process.cwd(),
    env: process.env,
    sections: {
      tools: toolsConfigSection,
      textgrad: createTextgradConfigSection({ providers: Object.keys(modelPrefixes) }),
      report: reportConfigSection,
      tracing: tracingConfigSection,
    },
    envBindings: [...reportEnvBindings, ...tracingEnvBindings],
  });
  return {
    confinement: sandboxFromConfig(config.tools),
    evolution: evolutionSettings(config.textgrad),
    report: config.report,
    tracing: config.tracing,
    config,
  };
}

interface Models {
  coder: ChatModel;
  /** The judge's model, when --judge asks for one. */
  judge?: ChatModel;
  cassette?: Cassette;
  router?: Router;
}

/**
 * The coder and the judge, each through the router as `textgrad:` (and --judge, --allow-cloud) say, wrapped by the
 * cassette when there is one. A replayed cassette answers for both, so no router is made.
 */
function buildModels(flags: EvolveFlags, settings: Settings): Models {
  const judgeChoice =
    typeof flags.judge === 'string'
      ? parseModelChoice(flags.judge, '--judge', { providers: Object.keys(modelPrefixes) })
      : settings.evolution.judge;
  const cassette = flags.cassette ? Cassette.open({ mode: flags.cassetteMode, path: flags.cassette }) : undefined;
  if (cassette?.options.mode === 'replay') {
    // Replay answers from the cassette; a request it lacks fails the run with CASSETTE_MISS, never reaching a model.
    return {
      coder: { chat: () => Promise.reject(new Error('no model in replay mode')) },
      ...(flags.judge === undefined ? {} : { judge: cassette.wrap(undefined, 'judge') }),
      cassette,
    };
  }
  const router = createRouter({ config: settings.config, env: process.env });
  const localOnly = settings.evolution.localOnly && flags.allowCloud !== true;
  const judge = flags.judge === undefined ? undefined : routed(router, judgeChoice, localOnly);
  return {
    coder: routed(router, settings.evolution.coder, localOnly),
    ...(judge ? { judge: cassette ? cassette.wrap(judge, 'judge') : judge } : {}),
    ...(cassette ? { cassette } : {}),
    router,
  };
}

/**
 * A model of the loop through the router: a role's chain, or one model (then the `coding` role's local models
 * after it, as `cloud_llm.fallback_to_local` allows). Local only withholds every remote model, the cloud's first.
 */
function routed(router: Router, choice: ModelChoice, localOnly: boolean): ChatModel {
  const route = 'role' in choice ? { role: choice.role } : { role: 'coding' as const, model: choice.model };
  return { chat: (request) => router.chat({ ...request, ...route, localOnly }) };
}

async function buildEvaluator(
  flags: EvolveFlags,
  settings: Settings,
  models: Models,
): Promise<{ main: Evaluator; holdout?: Evaluator; weights: ScoringWeights; close(): Promise<void> }> {
  const make = (command: string, files?: string[]) => {
    // The evaluator sees this shell's environment through the library's allow-list, confined as `tools:` says.
    const options = {
      command,
      files: evaluatorFiles(command, { ...(files ? { explicit: files } : {}), where: '--eval-files' }),
      timeoutMs: flags.evalTimeout * 1000,
      env: process.env,
      ...settings.confinement,
    };
    return flags.evalType === 'tests' ? testCommandEvaluator(options) : commandEvaluator(options);
  };
  const holdout = flags.holdout ? make(flags.holdout) : undefined;
  let command: Evaluator | undefined;
  let close = async () => {};
  if (flags.eval !== undefined) {
    const local = make(flags.eval, flags.evalFiles);
    command = local;
    if (flags.redis) {
      const remote: RemoteEvaluator = await createRemoteEvaluator(local.spec as EvaluatorSpec, {
        url: flags.redis,
        ...(flags.queue ? { queue: flags.queue } : {}),
        runId: evolutionRunId(flags.log, flags.seed),
        jobTimeoutMs: flags.evalTimeout * 1000 * 10,
      });
      command = remote;
      close = () => remote.close();
    }
  }
  const { evaluator: main, weights } = scoringEvaluator({
    ...(command ? { command } : {}),
    ...(models.judge
      ? {
          judge: {
            model: models.judge,
            rubric: settings.evolution.judgeRubric,
            ...(flags.pricePer1k ? { prices: { '*': flags.pricePer1k } } : {}),
          },
        }
      : {}),
    judgeWeight: flags.judgeWeight ?? settings.evolution.judgeWeight,
  });
  return { main, ...(holdout ? { holdout } : {}), weights, close };
}

function summarize(
  file: string,
  log: string,
  result: EvolutionResult,
  written: WrittenVariant,
  writeFailure: EvolutionError | undefined,
  scoring: ScoringWeights,
) {
  return {
    file,
    baseline: result.baseline.score,
    best: result.best.score,
    /** Each scorer's share of the score, and its own scores of the baseline and the best when two scored. */
    scoring,
    baselineParts: result.baseline.parts ?? null,
    bestParts: result.best.parts ?? null,
    delta: result.delta,
    bestCandidate: result.best.id,
    stopReason: result.stopReason,
    generations: result.generations,
    candidates: result.candidates,
    failures: result.failures,
    strategies: result.strategies,
    tokens: result.tokens,
    costUsd: result.costUsd,
    warnings: result.warnings,
    resumed: result.resumed,
    log,
    writtenTo: written.to ?? null,
    backup: written.backup ?? null,
    writeError: (writeFailure?.cause as Error | undefined)?.message ?? null,
  };
}

function formatSummary(s: ReturnType<typeof summarize>, result: EvolutionResult): string {
  const sign = s.delta >= 0 ? '+' : '';
  const lines = [
    `${pc.bold('baseline')} ${s.baseline.toFixed(2)} → ${pc.bold('best')} ${s.best.toFixed(2)} (Δ ${sign}${s.delta.toFixed(2)})` +
      `  candidate ${s.bestCandidate}; ${s.generations} generations, ${s.candidates} candidates, ${s.failures} failed`,
    ...partsLine(s),
    `stopped: ${s.stopReason}${s.resumed ? ' (resumed run)' : ''} · tokens ${s.tokens} · cost $${s.costUsd.toFixed(4)}`,
    '',
    `${'strategy'.padEnd(12)} ${'pulls'.padStart(6)} ${'mean reward'.padStart(12)} ${'successes'.padStart(10)}`,
    ...Object.entries(result.strategies).map(
      ([name, st]) =>
        `${name.padEnd(12)} ${String(st.pulls).padStart(6)} ${st.meanReward.toFixed(3).padStart(12)} ${String(st.successes).padStart(10)}`,
    ),
    '',
    s.writeError
      ? pc.red('could not write the best variant (see the error below)')
      : s.writtenTo
        ? `wrote the best variant to ${s.writtenTo}${s.backup ? ` (original kept in ${s.backup})` : ''}`
        : 'no variant beat the baseline: nothing written',
    `log: ${s.log}`,
  ];
  for (const warning of s.warnings) lines.push(pc.yellow(`warning: ${warning}`));
  return `${lines.join('\n')}\n`;
}

/** `eval 36.00 → 72.00 (× 0.50) · judge 40.00 → 50.00 (× 0.50)` when a command and the judge both scored. */
function partsLine(s: ReturnType<typeof summarize>): string[] {
  const names = Object.keys(s.scoring) as (keyof ScoringWeights)[];
  if (names.length < 2 || !s.bestParts) return [];
  const part = (name: keyof ScoringWeights) => {
    const from = s.baselineParts?.[name];
    const to = s.bestParts?.[name];
    const score = (n: number | undefined) => (n === undefined ? '?' : n.toFixed(2));
    return `${name} ${score(from)} → ${score(to)} (× ${(s.scoring[name] as number).toFixed(2)})`;
  };
  return [`scores: ${names.map(part).join(' · ')}`];
}

/** `eval 72.00, judge 50.00`: each scorer's own score of a candidate scored by several. */
function describeParts(parts: Record<string, number> | undefined): string {
  return parts
    ? Object.entries(parts)
        .map(([name, score]) => `${name} ${score.toFixed(2)}`)
        .join(', ')
    : '';
}

/** A progress bar on stderr (when it is a terminal): one step per generation, with the best score. */
class Progress {
  private readonly bars = new MultiBar(
    {
      stream: process.stderr,
      format: 'generation {value}/{total} |{bar}| best {best} (Δ {delta}){parts} · {candidates} candidates',
      hideCursor: true,
      clearOnComplete: false,
    },
    Presets.shades_classic,
  );
  private bar: SingleBar | undefined;
  private baseline = 0;
  private best = 0;
  private bestParts: Record<string, number> | undefined;
  private candidates = 0;
  private done = 0;

  constructor(private readonly total: number) {}

  on(event: EvolutionEvent): void {
    if (event.type === 'candidate' && event.line.candidate_id === 'baseline') this.bestParts = event.line.parts;
    if (event.type === 'best') this.bestParts = event.candidate.parts;
    if (!process.stderr.isTTY) {
      this.plain(event);
      return;
    }
    if (event.type === 'start') {
      this.baseline = event.baselineScore;
      this.best = event.baselineScore;
      this.candidates = event.candidates;
      this.done = Math.max(0, event.generation - 1);
      this.bar = this.bars.create(this.total, this.done, this.payload());
    } else if (event.type === 'generation') {
      this.done = event.generation - 1;
    } else if (event.type === 'candidate') {
      this.candidates += 1;
      this.best = event.line.best_score;
    } else if (event.type === 'warning') {
      this.log(pc.yellow(`warning: ${event.message}`));
    } else if (event.type === 'stop' && event.reason === 'generations') {
      this.done = this.total;
    }
    this.bar?.update(this.done, this.payload());
  }

  /** Off a terminal (a pipe, CI) a bar cannot redraw: one line per finished generation instead. */
  private plain(event: EvolutionEvent): void {
    if (event.type === 'start') {
      this.baseline = event.baselineScore;
      this.best = event.baselineScore;
      this.candidates = event.candidates;
    } else if (event.type === 'candidate') {
      this.candidates += 1;
      this.best = event.line.best_score;
    } else if (event.type === 'warning') {
      process.stderr.write(`warning: ${event.message}\n`);
    } else if (event.type === 'generation' && event.generation > 1) {
      this.generationLine(event.generation - 1);
    } else if (event.type === 'stop' && event.reason === 'generations') {
      this.generationLine(this.total);
    }
  }

  private generationLine(generation: number): void {
    const { best, delta, parts, candidates } = this.payload();
    process.stderr.write(
      `generation ${generation}/${this.total}: best ${best} (Δ ${delta})${parts} · ${candidates} candidates\n`,
    );
  }

  private log(text: string): void {
    this.bars.log(`${text}\n`);
  }

  private payload() {
    const delta = this.best - this.baseline;
    return {
      best: this.best.toFixed(2),
      delta: `${delta >= 0 ? '+' : ''}${delta.toFixed(2)}`,
      parts: this.bestParts ? ` [${describeParts(this.bestParts)}]` : '',
      candidates: this.candidates,
    };
  }

  stop(): void {
    this.bars.stop();
  }
}
