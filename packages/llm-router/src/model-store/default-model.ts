import { resolvePullSource } from './pull';

/**
 * The embedded engine's default model: Qwen2.5 0.5B Instruct, Q4_K_M, from Qwen's own GGUF repository on the Hugging
 * Face hub. Small enough for a laptop's CPU, instruction-tuned, with a chat template that handles tool calls.
 *
 * Pinned to the branch `main`, not to a commit: the machine this was written on cannot reach the hub, and no published
 * page consulted gave the file's commit or sha256, so none is written here rather than one that might be wrong. What
 * protects the download instead: the hub publishes the file's sha256 on the redirect of every download (its LFS oid,
 * `X-Linked-Etag`), and the pull checks the bytes against it; the commit `main` resolved to (`X-Repo-Commit`) is
 * reported after the pull. To pin a commit, point `UNITY_DEFAULT_MODEL` at
 * `https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct-GGUF/resolve/<commit>/qwen2.5-0.5b-instruct-q4_k_m.gguf`.
 */
export const defaultModelPin = {
  repo: 'Qwen/Qwen2.5-0.5B-Instruct-GGUF',
  revision: 'main',
  file: 'qwen2.5-0.5b-instruct-q4_k_m.gguf',
  /** About 491 MB (468 MiB), as model listings give it: for messages only; the hub says the exact size. */
  approxBytes: 491_000_000,
} as const;

/** What `unity models pull default` pulls. */
export interface DefaultModel {
  /** The pull source: a URL, `hf:…`, or a local path. */
  source: string;
  /** The store name it will have (`qwen2.5-0.5b-instruct-q4_k_m`). */
  name: string;
  /** An approximate size for messages, when known (not for an override). */
  approxBytes?: number;
  /** True when `llamacpp.default_model` (or `UNITY_DEFAULT_MODEL`) replaced the built-in default. */
  overridden: boolean;
}

export interface DefaultModelOptions {
  /** `llamacpp.default_model` of the loaded config (which the settings layer fills from `UNITY_DEFAULT_MODEL`). */
  configured?: string | undefined;
  /**
   * The environment the caller read: `UNITY_DEFAULT_MODEL`, and `HF_ENDPOINT` (the hub's address, as huggingface_hub
   * reads it: a mirror; default `https://huggingface.co`). The function never reads process.env.
   */
  env?: Record<string, string | undefined>;
}

/**
 * The default model's source: `UNITY_DEFAULT_MODEL` from the environment passed in (a URL, `hf:owner/repo/file.gguf`, or
 * the path of a local .gguf file: for CI and offline machines), else the pinned Hugging Face file. Throws
 * `INVALID_SOURCE` for an override that is none of those.
 */
export function defaultModel(options: DefaultModelOptions = {}): DefaultModel {
  const override = (options.configured ?? options.env?.UNITY_DEFAULT_MODEL)?.trim();
  if (override) {
    const { fileName } = resolvePullSource(override);
    return { source: override, name: fileName.replace(/\.gguf$/i, ''), overridden: true };
  }
  const { repo, revision, file, approxBytes } = defaultModelPin;
  const hub = (options.env?.HF_ENDPOINT?.trim() || 'https://huggingface.co').replace(/\/+$/, '');
  return {
    source: `${hub}/${repo}/resolve/${revision}/${file}`,
    name: file.replace(/\.gguf$/i, ''),
    approxBytes,
    overridden: false,
  };
}
