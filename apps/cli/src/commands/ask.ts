import type { ChatMessage } from '@unity/core';
import { UnityError } from '@unity/core';
import {
  type Attempt,
  createRouter,
  findDefaultStoreModel,
  loadConfig,
  RouterError,
  type RouterRequest,
  type RouterResponse,
  type RouterRole,
  type RouterStreamEvent,
  routerRoles,
  type UnityConfig,
} from '@unity/llm-router';
import { type Command, Option } from 'commander';
import { readStdin } from '../terminal-io';
import { modelsDir } from './models';

interface AskFlags {
  config?: string;
  role?: RouterRole;
  localOnly?: boolean;
  system?: string;
  stream: boolean;
  json?: boolean;
}

/** One stderr line when the answer did not come from the first model: which failed or were skipped, and why. */
export function fallbackNote(response: RouterResponse): string | undefined {
  const failed = response.attempts.filter((a) => !a.ok);
  if (failed.length === 0) return undefined;
  const answered = response.attempts.find((a) => a.ok);
  const why = (a: Attempt) => `${a.model} ${a.skipped ? 'skipped' : 'failed'} (${a.error?.code ?? 'error'})`;
  const unique = [...new Map(failed.map((a) => [a.model, a])).values()];
  return `unity: answered by ${answered?.model ?? response.provider} after ${unique.map(why).join(', ')}`;
}

/** `unity ask "<prompt>"`: one question through the router, streamed to stdout. */
export function registerAskCommand(program: Command): void {
  program
    .command('ask')
    .description('ask one question: the cloud model first, the local models when it fails or with --local-only')
    .argument('<prompt>', 'the question, or - to read it from stdin')
    .option('--config <file>', 'config file (default: $UNITY_CONFIG, else ./configs/system.yaml, else built-in)')
    .addOption(new Option('--role <role>', 'which local model serves it after the cloud').choices([...routerRoles]))
    .option('--local-only', 'never send the prompt to a cloud provider')
    .option('--system <text>', 'a system prompt')
    .option('--no-stream', 'print the answer when it is complete instead of as it comes')
    .option('--json', 'print the answer and how it was made (provider, model, usage, attempts) as one JSON object')
    .addHelpText(
      'after',
      '\nThe answer goes to stdout; a note on stderr says when a fallback answered. API keys are read from the\n' +
        'variable the config names (MINIMAX_API_KEY by default), Ollama from ollama.host or OLLAMA_HOST. When no\n' +
        'configured model can answer, a model in the store (`unity models pull`) is run in-process, and stderr says so.\n' +
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
        ...(flags.role ? { role: flags.role } : {}),
        ...(flags.localOnly ? { localOnly: true } : {}),
      };
      try {
        let response: RouterResponse;
        try {
          response = await answer(config, request, flags);
        } catch (error) {
          // Nothing configured answered (no key, no Ollama): a model in the store still can, and we say so.
          const store = modelsDir({});
          const stored = embeddable(error) ? await findDefaultStoreModel(store).catch(() => undefined) : undefined;
          if (!stored) throw error;
          const failed = error as RouterError;
          process.stderr.write(
            `unity: no configured model could answer:\n${indent(withoutFix(failed))}\n` +
              `unity: using the embedded engine with ${stored.name} from the model store (${stored.path})\n`,
          );
          const embedded = await answer(embeddedConfig(config, stored.name, store), request, flags).catch(
            (cause: unknown) => {
              throw alsoFailed(failed, stored.name, cause);
            },
          );
          // Every attempt, the failed configured ones included: --json promises the whole story.
          response = { ...embedded, attempts: [...failed.attempts, ...embedded.attempts] };
        }
        if (flags.json) process.stdout.write(`${JSON.stringify(response, null, 2)}\n`);
        else if (!flags.stream) process.stdout.write(withNewline(response.content));
        const note = fallbackNote(response);
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
          const failure = { code: error.code, message: withoutFix(error), fix: error.fix, ...attempts };
          process.stdout.write(`${JSON.stringify({ error: failure }, null, 2)}\n`);
        }
        throw error;
      } finally {
        process.off('SIGINT', onSigint);
      }
    });
}

/** One routed answer: streamed to stdout as it comes, or whole. */
async function answer(config: UnityConfig, request: RouterRequest, flags: AskFlags): Promise<RouterResponse> {
  const router = createRouter({ config, env: process.env });
  try {
    return await (flags.stream && !flags.json ? streamAnswer(router.stream(request)) : router.chat(request));
  } finally {
    await router.close();
  }
}

/** Every model failed before answering (not a refused request, not a stream broken after its first token). */
function embeddable(error: unknown): boolean {
  return RouterError.isInstance(error) && (error.code === 'ALL_PROVIDERS_FAILED' || error.code === 'NO_PROVIDER');
}

/** The first failure, with the embedded engine's failure added: the user needs both fixes. */
function alsoFailed(first: RouterError, name: string, embedded: unknown): unknown {
  if (controllerAborted(embedded)) return embedded;
  const body = withoutFix(first);
  const detail = RouterError.isInstance(embedded)
    ? embedded.attempts.map((a) => a.error?.message).join('; ')
    : String(embedded);
  return new RouterError({
    code: first.code,
    message: `${body}\nthe embedded engine with ${name} from the model store failed too: ${detail}`,
    ...(first.fix ? { fix: first.fix } : {}),
    attempts: [...first.attempts, ...(RouterError.isInstance(embedded) ? embedded.attempts : [])],
    cause: embedded,
  });
}

const controllerAborted = (error: unknown) => RouterError.isInstance(error) && error.code === 'ABORTED';

/** The config with one model for every role: a store model run in-process. */
function embeddedConfig(config: UnityConfig, name: string, storeDir: string): UnityConfig {
  const model = `llamacpp/${name}`;
  return {
    ...config,
    cloud_llm: { ...config.cloud_llm, enabled: false },
    models: { reasoning: model, coding: model, fallback: model },
    llamacpp: { ...config.llamacpp, store_dir: storeDir },
  };
}

/** An error's message without its `Fix:` line. */
function withoutFix(error: UnityError): string {
  return error.fix ? error.message.slice(0, error.message.lastIndexOf('\nFix: ')) : error.message;
}

const indent = (text: string) => text.replace(/^/gm, '  ');

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
