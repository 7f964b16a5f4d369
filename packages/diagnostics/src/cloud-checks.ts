import type { Check } from './check';
import { describeProbeFailure, probeJson } from './http-probe';

export interface CloudCheckOptions {
  /** The router's id for the cloud provider (`minimax`, `openai`). */
  provider: string;
  /** The variable that holds the key (`MINIMAX_API_KEY`, or `cloud_llm.api_key_env`). */
  keyVariable: string;
  /** Its value, read by the app (libraries never read the environment). */
  key: string | undefined;
  /** `cloud_llm.fallback_to_local`: with it a cloud problem only warns, since the local model answers. */
  fallbackToLocal: boolean;
  /**
   * False for a self-hosted OpenAI-compatible server (vLLM, LM Studio: `provider: openai` with a `base_url`), which
   * is healthy without a key (`cloudNeedsKey` of `@unity/llm-router`). Default true.
   */
  keyRequired?: boolean;
}

const cloudKeyId = 'cloud-key';

const keyFix = (variable: string) => `\`export ${variable}=<your key>\``;

function severity(fallbackToLocal: boolean) {
  return fallbackToLocal ? ('warn' as const) : ('fail' as const);
}

function fallbackNote(fallbackToLocal: boolean) {
  return fallbackToLocal ? '; requests fall back to the local model' : ' and fallback_to_local is off';
}

/** The key variable is set (a missing key is a warning when the local fallback is on, a failure otherwise). */
export function cloudKeyCheck(options: CloudCheckOptions): Check {
  return {
    id: cloudKeyId,
    title: `Cloud key (${options.keyVariable})`,
    required: !options.fallbackToLocal,
    provider: options.provider,
    async run() {
      if (options.key?.trim()) return { status: 'ok', message: `${options.keyVariable} is set` };
      if (options.keyRequired === false) {
        return {
          status: 'ok',
          message: `no key needed: ${options.provider} is a self-hosted server (cloud_llm.base_url)`,
        };
      }
      return {
        status: severity(options.fallbackToLocal),
        up: false,
        message: `${options.keyVariable} is not set: ${options.provider} cannot be used${fallbackNote(options.fallbackToLocal)}`,
        fix: keyFix(options.keyVariable),
      };
    },
  };
}

export interface CloudEndpointCheckOptions extends CloudCheckOptions {
  /** The API root up to `/v1` (e.g. `https://api.minimax.io/v1`). */
  baseURL: string;
  /** Default 5000 ms: the probe is one cheap `GET {base}/models`. */
  timeoutMs?: number;
}

/** The endpoint answers `GET {base}/models` and accepts the key. Skipped without a key. */
export function cloudEndpointCheck(options: CloudEndpointCheckOptions): Check {
  const timeoutMs = options.timeoutMs ?? 5000;
  const base = options.baseURL.replace(/\/+$/, '');
  return {
    id: 'cloud-endpoint',
    title: `Cloud endpoint (${options.provider})`,
    required: !options.fallbackToLocal,
    provider: options.provider,
    async run(signal) {
      const key = options.key?.trim();
      if (!key && options.keyRequired !== false) {
        return { status: 'skip', message: `not checked: ${options.keyVariable} is not set` };
      }
      const result = await probeJson(`${base}/models`, {
        headers: key ? { authorization: `Bearer ${key}` } : {},
        timeoutMs,
        signal,
      });
      if (result.kind === 'ok') {
        const data = (result.body as { data?: unknown } | undefined)?.data;
        const count = Array.isArray(data) ? ` (${data.length} models)` : '';
        return { status: 'ok', message: `${base} ${key ? 'accepted the key' : 'answers without a key'}${count}` };
      }
      if (result.kind === 'http-error' && (result.status === 401 || result.status === 403)) {
        return {
          status: severity(options.fallbackToLocal),
          up: false,
          message: `${base} rejected the key in ${options.keyVariable}: ${describeProbeFailure(result, 'timeoutMs')}`,
          fix: `set ${options.keyVariable} to a valid key: ${keyFix(options.keyVariable)}`,
        };
      }
      if (result.kind === 'http-error' && result.status === 404) {
        return {
          status: 'ok',
          message: `${base} is reachable (it has no /models endpoint, so the key is not verified)`,
        };
      }
      if (result.kind === 'http-error' && result.status === 429) {
        return { status: 'warn', message: `${base} is rate-limiting this key right now (HTTP 429)` };
      }
      return {
        status: severity(options.fallbackToLocal),
        up: false,
        message: `${base} is not usable: ${describeProbeFailure(result, 'timeoutMs')}${fallbackNote(options.fallbackToLocal)}`,
        fix: 'check the network and cloud_llm.base_url; the provider status page says whether it is down',
      };
    },
  };
}
