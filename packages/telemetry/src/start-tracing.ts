import { context, propagation, type Tracer } from '@opentelemetry/api';
import type { ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { ConfigError } from '@unity/config';
import type { TracingConfig } from './tracing-config';

/** The SDK, loaded only when tracing is on: importing it costs about 200 ms that a command with tracing off skips. */
async function loadSdk() {
  const [asyncHooks, core, exporter, resources, sdk] = await Promise.all([
    import('@opentelemetry/context-async-hooks'),
    import('@opentelemetry/core'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/sdk-trace'),
  ]);
  return { ...asyncHooks, ...core, ...exporter, ...resources, ...sdk };
}

type Sdk = Awaited<ReturnType<typeof loadSdk>>;

export interface StartTracingOptions {
  /** The environment `tracing.headers_env` reads its values from (the apps pass process.env). Default: none. */
  env?: Record<string, string | undefined>;
  /** `service.version` of the exported resource (Unity's version). */
  serviceVersion?: string;
  /**
   * Called when a batch of spans could not be exported (collector down, refused, timed out): the spans are dropped
   * and the program goes on. Apps decide whether to say so; without it failures are silent.
   */
  onExportError?: (error: Error) => void;
}

/** Tracing that is on: the tracer to hand to the libraries, and the exporter's lifecycle. */
export interface Tracing {
  /** Give it to `traceRouter`, `createGateway({ tracer })`, `runTracedAgent`, `runTracedEvolution`. */
  readonly tracer: Tracer;
  /** Export every span ended so far (a batch the collector refuses is dropped: see `onExportError`). */
  flush(): Promise<void>;
  /**
   * Export what is left, stop exporting and release the global context manager. Safe to call twice; never rejects
   * for a refused export.
   */
  shutdown(): Promise<void>;
}

/**
 * Start exporting traces as the `tracing:` section says, or return undefined when it is off (the default): then
 * nothing is loaded or registered, and the libraries, given no tracer, add no listener and create no span.
 *
 * Spans go over OTLP/HTTP as JSON to `tracing.endpoint`, in batches. The W3C trace-context propagator (`traceparent`)
 * and an AsyncLocalStorage context manager are registered globally (unless the host already registered its own);
 * the tracer provider is not: the libraries receive `tracing.tracer`.
 */
export async function startTracing(
  config: TracingConfig,
  options: StartTracingOptions = {},
): Promise<Tracing | undefined> {
  if (!config.enabled) return undefined;
  const headers = { ...config.headers, ...headersFromEnv(config.headers_env, options.env ?? {}) };
  const sdk = await loadSdk();
  const { BatchSpanProcessor, OTLPTraceExporter, ParentBasedSampler, TraceIdRatioBasedSampler, TracerProvider } = sdk;
  const exporter = new OTLPTraceExporter({
    url: config.endpoint,
    headers,
    timeoutMillis: config.timeout_seconds * 1000,
  });
  const provider = new TracerProvider({
    resource: sdk.resourceFromAttributes({
      'service.name': config.service_name,
      ...(options.serviceVersion ? { 'service.version': options.serviceVersion } : {}),
    }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.sample_ratio) }),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: options.onExportError ? reportingFailures(sdk, exporter, options.onExportError) : exporter,
        exportTimeoutMillis: config.timeout_seconds * 1000,
      }),
    ],
  });
  acquireGlobals(sdk);
  let stopped: Promise<void> | undefined;
  return {
    tracer: provider.getTracer('unity', options.serviceVersion),
    // A batch the collector refused is dropped and reported to onExportError: neither call rejects for it.
    flush: () => provider.forceFlush().catch(() => undefined),
    shutdown() {
      stopped ??= provider
        .shutdown()
        .catch(() => undefined)
        .finally(releaseGlobals);
      return stopped;
    },
  };
}

/** `tracing.headers_env`: each header's value from its variable; a variable that is not set is a config error. */
function headersFromEnv(
  names: Record<string, string>,
  env: Record<string, string | undefined>,
): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [header, variable] of Object.entries(names)) {
    const value = env[variable];
    if (value === undefined || value === '') {
      throw new ConfigError({
        code: 'CONFIG_INVALID',
        message: `tracing.headers_env.${header}: the environment variable ${variable} is not set, so the ${header} header of trace exports would be missing`,
        fix: `set ${variable}, or remove tracing.headers_env.${header}`,
      });
    }
    headers[header] = value;
  }
  return headers;
}

/** The exporter, telling `onError` of each batch it could not deliver. */
function reportingFailures(sdk: Sdk, exporter: SpanExporter, onError: (error: Error) => void): SpanExporter {
  return {
    export(spans: ReadableSpan[], done: (result: ExportResult) => void) {
      exporter.export(spans, (result) => {
        if (result.code !== sdk.ExportResultCode.SUCCESS) {
          try {
            onError(result.error ?? new Error('the collector did not accept the spans'));
          } catch {
            // The app's handler failing must not stop the export pipeline.
          }
        }
        done(result);
      });
    },
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
  };
}

/**
 * The global context manager and propagator, shared by every `startTracing` of the process (a test may start two
 * servers): registered by the first, released by the last. A host's own registration is left alone.
 */
let users = 0;
let owned: { context: boolean; propagation: boolean } = { context: false, propagation: false };

function acquireGlobals(sdk: Sdk): void {
  users += 1;
  if (users > 1) return;
  const manager = new sdk.AsyncLocalStorageContextManager().enable();
  const ownsContext = context.setGlobalContextManager(manager);
  if (!ownsContext) manager.disable();
  owned = {
    context: ownsContext,
    propagation: propagation.setGlobalPropagator(new sdk.W3CTraceContextPropagator()),
  };
}

function releaseGlobals(): void {
  users -= 1;
  if (users > 0) return;
  if (owned.context) context.disable();
  if (owned.propagation) propagation.disable();
  owned = { context: false, propagation: false };
}
