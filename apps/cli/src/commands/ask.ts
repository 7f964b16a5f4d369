import type { ChatMessage } from '@unity/core';
import { UnityError } from '@unity/core';
import {
  type Attempt,
  createRouter,
  loadConfig,
  RouterError,
  type RouterEventMap,
  type RouterRequest,
  type RouterResponse,
  type RouterRole,
  type RouterStreamEvent,
  routerRoles,
  type UnityConfig,
} from '@unity/llm-router';
import { lastResortEnabled } from '@unity/llm-router/internal';
import { findDefaultStoreModel, modelStoreDir } from '@unity/llm-router/model-store';
import { type Command, Option } from 'commander';
import { reportCliError } from '../cli-error';
import { confirmDefaultPull, describeDefaultModel, pullWithProgress, verificationNote } from '../model-pull';
import { readStdin } from '../terminal-io';

interface AskFlags {
  config?: string;
  model?: string;
  role?: RouterRole;
  localOnly?: boolean;
  system?: string;
  stream: boolean;
  json?: boolean;
}

/** One stderr line when the answer did not come from the first model: which failed or were skipped, and why. */
function fallbackNote(response: RouterResponse): string | undefined {
  const failed = response.attempts.filter((a) => !a.ok);
  if (failed.length === 0) return undefined;
  const answered = response.attempts.find((a) => a.ok);
  const why = (a: Attempt) => `${a.model} ${a.skipped ? 'skipped' : 'failed'} (${a.error?.code ?? 'error'})`;
  const unique = [...new Map(failed.map((a) => [a.model, a])).values()];
  const by = answered?.lastResort
    ? `the embedded last resort ${answered.model}`
    : (answered?.model ?? response.provider);
  return `unity: answered by ${by} after ${unique.map(why).join(', ')}`;
}

/** One stderr line for an ensemble's answer (`--model ensemble/<name>`): how it decided, and which members failed. */
function ensembleNote(response: RouterResponse): string | undefined {
  const trace = response.ensemble;
  if (!trace) return undefined;
  const { decision, members } = trace;
  const chosen = (index: number | undefined) => {
    const m = index === undefined ? undefined : members[index];
    return m ? (m.answeredBy ?? m.model) : 'a member';
  };
  const how =
    decision.strategy === 'vote'
      ? `"${decision.winner}" won ${decision.votes} of ${decision.answers} votes`
      : decision.strategy === 'judge'
        ? `${decision.by === 'json' || decision.by === 'regex' ? 'the judge picked' : 'kept'} ${chosen(decision.index)}: ${decision.reason}`
        : decision.strategy === 'fuse'
          ? decision.by === 'fuser'
            ? `${decision.candidates} answers merged by ${trace.judge?.answeredBy ?? trace.judge?.model ?? 'the fuser'}`
            : `kept ${chosen(decision.index)}: ${decision.reason}`
          : `${chosen(decision.index)} answered first`;
  const failed = members
    .filter((m) => m.status === 'failed')
    .map((m) => `${m.model} failed (${m.error?.code ?? 'error'})`);
  return `unity: ensemble/${trace.name} (${trace.strategy}): ${how}${failed.length > 0 ? `; ${failed.join(', ')}` : ''}`;
}

/** `unity ask "<prompt>"`: one question through the router, streamed to stdout. */
export function registerAskCommand(program: Command): void {
  program
    .command('ask')
    .description('ask one question: the cloud model first, the local models when it fails or with --local-only')
    .argument('<prompt>', 'the question, or - to read it from stdin')
    .option('--config <file>', 'config file (default: $UNITY_CONFIG, else ./configs/system.yaml, else built-in)')
    .option(
      '--model <model>',
      'a model string to try first instead of the cloud model (ollama_chat/llama3.2:1b), or an ensemble of the config (ensemble/<name>)',
    )
    .addOption(new Option('--role <role>', 'which local model serves it after the cloud').choices([...routerRoles]))
    .option('--local-only', 'never send the prompt to a cloud provider')
    .option('--system <text>', 'a system prompt')
    .option('--no-stream', 'print the answer when it is complete instead of as it comes')
    .option('--json', 'print the answer and how it was made (provider, model, usage, attempts) as one JSON object')
    .addHelpText(
      'after',
      '\nThe answer goes to stdout; a note on stderr says when a fallback answered. API keys are read from the\n' +
        'variable the config names (MINIMAX_API_KEY by default), Ollama from ollama.host or OLLAMA_HOST. When no\n' +
        'configured model can answer, the newest model in the store (`unity models pull`) is run in-process, and stderr\n' +
        'says so (router.last_resort: none, or cloud_llm.fallback_to_local: false, turns that off). When the store is\n' +
        'empty too, a terminal is offered the default model (`unity models pull default`); elsewhere the command is named.\n' +
        'Exit status: 0 answered, 1 nothing could answer (each failure and its fix on stderr), 130 interrupted.',
    )
    .action(async (promptArg: string, flags: AskFlags) => {
      const prompt = promptArg === '-' ? (await readStdin()).trimEnd() : promptArg;
      if (prompt.trim() === '') {
        throw new UnityError({
          code: 'EMPTY_PROMPT',
          message: promptArg === '-' ? 'the prompt read from stdin is empty' : 'the prompt is empty',
          fix: 'unity ask "<your question>"  (or pipe it in: echo "question" | unity ask -)',
        });
      }
      const { config } = await loadConfig({
        ...(flags.config === undefined ? {} : { path: flags.config }),
        cwd: process.cwd(),
        env: process.env,
      });
      const controller = new AbortController();
      const onSigint = () => controller.abort(new Error('interrupted (SIGINT)'));
      process.once('SIGINT', onSigint);
      const messages: ChatMessage[] = [
        ...(flags.system ? [{ role: 'system' as const, content: flags.system }] : []),
        { role: 'user', content: prompt },
      ];
      const request: RouterRequest = {
        messages,
        signal: controller.signal,
        ...(flags.model ? { model: flags.model } : {}),
        ...(flags.role ? { role: flags.role } : {}),
        ...(flags.localOnly ? { localOnly: true } : {}),
      };
      try {
        let response: RouterResponse;
        try {
          response = await answer(config, request, flags);
        } catch (error) {
          // Nothing answered and the store is empty: on a terminal, offer the default model and ask again with it.
          const storeDir = await emptyLastResortStore(config, error);
          if (!storeDir || flags.json || !interactive() || controller.signal.aborted) throw error;
          process.exitCode = reportCliError(error);
          if (!(await confirmDefaultPull(storeDir, config.llamacpp.default_model))) return;
          process.exitCode = undefined;
          const { model } = describeDefaultModel(config.llamacpp.default_model);
          const pulled = await pullWithProgress(model.source, { dir: storeDir });
          process.stderr.write(`unity: pulled ${pulled.name} (${verificationNote(pulled)}); asking again\n`);
          response = await answer(config, request, flags);
        }
        if (flags.json) process.stdout.write(`${JSON.stringify(response, null, 2)}\n`);
        else if (!flags.stream) process.stdout.write(withNewline(response.content));
        const note = response.ensemble ? ensembleNote(response) : fallbackNote(response);
        if (note && !flags.json) process.stderr.write(`${note}\n`);
      } catch (error) {
        if (controller.signal.aborted) {
          process.stderr.write('\nunity: interrupted\n');
          process.exitCode = 130;
          return;
        }
        // With --json, scripts get the failure as JSON on stdout too (the message and fix still go to stderr).
        if (flags.json && UnityError.isInstance(error)) {
          const attempts = RouterError.isInstance(error) ? { attempts: error.attempts } : {};
          const failure = { code: error.code, message: error.message, fix: error.fix, ...attempts };
          process.stdout.write(`${JSON.stringify({ error: failure }, null, 2)}\n`);
        }
        const storeDir = await emptyLastResortStore(config, error);
        if (!storeDir) throw error;
        // Off a terminal nothing is asked: the failure, then the one command that gives the embedded engine a model.
        process.exitCode = reportCliError(error);
        const { model, size } = describeDefaultModel(config.llamacpp.default_model);
        process.stderr.write(
          `unity: the model store (${storeDir}) is empty, so the embedded engine had no model to fall back on.\n` +
            `unity: to pull the default model ${model.name} (${size}), run:\n  unity models pull default\n`,
        );
      } finally {
        process.off('SIGINT', onSigint);
      }
    });
}

/** True when stdin and stderr are a terminal: a person can answer a question. */
const interactive = () => process.stdin.isTTY === true && process.stderr.isTTY === true;

/**
 * The store folder, when `error` is the router's "nothing answered", the config allows the store's last resort, and
 * the store holds no model: the case where pulling the default model would have given an answer.
 */
async function emptyLastResortStore(config: UnityConfig, error: unknown): Promise<string | undefined> {
  if (!RouterError.isInstance(error) || error.code !== 'ALL_PROVIDERS_FAILED' || !lastResortEnabled(config)) {
    return undefined;
  }
  const storeDir = modelStoreDir(config, { env: process.env });
  return (await findDefaultStoreModel(storeDir).catch(() => undefined)) ? undefined : storeDir;
}

/** One routed answer: streamed to stdout as it comes, or whole. */
async function answer(config: UnityConfig, request: RouterRequest, flags: AskFlags): Promise<RouterResponse> {
  const router = createRouter({ config, env: process.env });
  // Nothing configured answered (no key, no Ollama): the router's last resort, a model in the store, still may.
  router.on('last-resort', (event) => process.stderr.write(lastResortNote(event)));
  try {
    return await (flags.stream && !flags.json ? streamAnswer(router.stream(request)) : router.chat(request));
  } finally {
    await router.close();
  }
}

/** What stderr says when the router turns to the model store: why, and which model. */
function lastResortNote(event: RouterEventMap['last-resort'][0]): string {
  const failures = event.attempts.map(
    (a) =>
      `  ${a.model} ${a.skipped ? 'skipped' : 'failed'}: ${a.error?.message ?? 'no answer'} [${a.error?.code ?? 'error'}]`,
  );
  return (
    `unity: no configured model could answer:\n${failures.map((line) => `${line}\n`).join('')}` +
    `unity: using the embedded engine with ${event.name} from the model store (${event.path})\n`
  );
}

/** Write text as it arrives; a failure after the first token ends the line and is thrown as the router's error. */
async function streamAnswer(events: AsyncIterable<RouterStreamEvent>): Promise<RouterResponse> {
  let last = '';
  for await (const event of events) {
    if (event.type === 'text-delta') {
      process.stdout.write(event.text);
      last = event.text || last;
    } else if (event.type === 'finish') {
      if (!last.endsWith('\n')) process.stdout.write('\n');
      return event.response;
    } else if (event.type === 'error') {
      if (last !== '' && !last.endsWith('\n')) process.stdout.write('\n');
      throw event.error;
    }
  }
  throw new Error('the answer stream ended without a finish event (a bug)');
}

const withNewline = (text: string) => (text.endsWith('\n') ? text : `${text}\n`);
