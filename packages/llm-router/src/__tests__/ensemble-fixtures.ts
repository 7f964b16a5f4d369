// Test support for the ensemble tests (not exported): routers over the shared fakes whose members answer per model.
import type { ChatRequestInfo, FakeUpstream, Step } from '@unity/test-kit';
import { afterEach } from 'vitest';
import type { Router } from '../router';
import { type ConfigPatch, fakeConfig, routerFor, useRouterTestBed } from './router-fixtures';

/** The four member models on the two fakes: the fake cloud serves both names, the fake Ollama both tags. */
export const models = {
  minimax: 'minimax/MiniMax-M2',
  mini: 'minimax/gpt-4o-mini',
  qwen: 'ollama_chat/qwen2.5-coder:7b',
  llama: 'ollama_chat/llama3.2:1b',
} as const;

type Script = Step | ((request: ChatRequestInfo, call: number) => Step);

interface EnsembleTestBed {
  fakes: ReturnType<typeof useRouterTestBed>['fakes'];
  use(ensembles: Record<string, unknown>, patch?: ConfigPatch): Router;
  answer(fake: FakeUpstream, byModel: Record<string, Script>): void;
}

/**
 * The router test bed, plus `use(ensembles, patch)`: a router whose members never fall back (so that a member's
 * failure stays its own), with the given `ensembles:` section; and `answer(fake, byModel)`, which scripts each model's
 * replies (a function gets the model's call number, from 1).
 */
export function useEnsembleTestBed(): EnsembleTestBed {
  const bed = useRouterTestBed();
  const { fakes } = bed;
  afterEach(() => {
    const echo = (request: ChatRequestInfo): Step => ({ text: `echo from ${String(request.body.model)}` });
    fakes.cloud.setDefault(echo);
    fakes.ollama.setDefault(echo);
  });
  return {
    fakes,
    use(ensembles: Record<string, unknown>, patch: ConfigPatch = {}): Router {
      const config = fakeConfig(fakes, {
        cloud_llm: { fallback_to_local: false },
        ...patch,
        router: { last_resort: 'none', ...patch.router },
        ensembles,
      });
      return bed.use(routerFor(config));
    },
    answer(fake: FakeUpstream, byModel: Record<string, Script>): void {
      const calls = new Map<string, number>();
      fake.setDefault((request) => {
        const model = String(request.body.model);
        const call = (calls.get(model) ?? 0) + 1;
        calls.set(model, call);
        const script = byModel[model] ?? { text: `unscripted answer from ${model}` };
        return typeof script === 'function' ? script(request, call) : script;
      });
    },
  };
}

/** The requests a fake received for one model. */
export function requestsFor(fake: FakeUpstream, model: string) {
  return fake.requests.filter((r) => (r.body as { model?: string } | undefined)?.model === model);
}
