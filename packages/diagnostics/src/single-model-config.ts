import type { UnityConfig } from '@unity/llm-router';

/**
 * The config of a router that sends `request.model` to that model alone, as a measurement of it needs (the deep checks,
 * the model bench): the cloud on without falling back to local models, no retry, no circuit breaker (a circuit opened
 * by one model's failures would skip the next model on that provider), no response cache, no audit.
 */
export function singleModelConfig(config: UnityConfig): UnityConfig {
  return {
    ...config,
    cloud_llm: { ...config.cloud_llm, enabled: true, fallback_to_local: false },
    router: {
      ...config.router,
      retries: { ...config.router.retries, max_retries: 0 },
      breaker: { ...config.router.breaker, failure_threshold: Number.MAX_SAFE_INTEGER },
      cache: { ...config.router.cache, enabled: false },
      audit: { ...config.router.audit, enabled: false },
    },
  };
}
