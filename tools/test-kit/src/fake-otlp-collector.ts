import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';

/** One span as an OTLP/HTTP JSON export carried it, with ids in hex and attributes as plain values. */
export interface CollectedSpan {
  traceId: string;
  spanId: string;
  /** Absent for a root span. */
  parentSpanId?: string;
  name: string;
  kind: 'unspecified' | 'internal' | 'server' | 'client' | 'producer' | 'consumer';
  attributes: Record<string, unknown>;
  status: { code: 'unset' | 'ok' | 'error'; message?: string };
  /** Epoch milliseconds. */
  startMs: number;
  endMs: number;
  /** The resource's `service.name`. */
  service?: string;
  /** The instrumentation scope's name. */
  scope?: string;
}

/** One export request as the collector received it. */
export interface CollectedExport {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  contentType: string | undefined;
  spans: CollectedSpan[];
}

export interface FakeOtlpCollectorOptions {
  /** Answer every export with this status (default 200): fault injection for export failures. */
  status?: number;
}

interface OtlpValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number;
  arrayValue?: { values?: OtlpValue[] };
  kvlistValue?: { values?: OtlpKeyValue[] };
}
interface OtlpKeyValue {
  key: string;
  value?: OtlpValue;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number;
  startTimeUnixNano: string | number;
  endTimeUnixNano: string | number;
  attributes?: OtlpKeyValue[];
  status?: { code?: number; message?: string };
}
interface OtlpRequest {
  resourceSpans?: {
    resource?: { attributes?: OtlpKeyValue[] };
    scopeSpans?: { scope?: { name?: string }; spans?: OtlpSpan[] }[];
  }[];
}

const kinds = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'] as const;
const statusCodes = ['unset', 'ok', 'error'] as const;

function plain(value: OtlpValue | undefined): unknown {
  if (!value) return undefined;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.arrayValue) return (value.arrayValue.values ?? []).map(plain);
  if (value.kvlistValue) return attributesOf(value.kvlistValue.values);
  return undefined;
}

function attributesOf(list: OtlpKeyValue[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, plain(kv.value)]));
}

/** Spans of an OTLP JSON `ExportTraceServiceRequest`. */
function spansOf(request: OtlpRequest): CollectedSpan[] {
  const out: CollectedSpan[] = [];
  for (const resourceSpans of request.resourceSpans ?? []) {
    const service = attributesOf(resourceSpans.resource?.attributes)['service.name'];
    for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
      for (const span of scopeSpans.spans ?? []) {
        out.push({
          traceId: span.traceId,
          spanId: span.spanId,
          ...(span.parentSpanId ? { parentSpanId: span.parentSpanId } : {}),
          name: span.name,
          kind: kinds[span.kind ?? 0] ?? 'unspecified',
          attributes: attributesOf(span.attributes),
          status: {
            code: statusCodes[span.status?.code ?? 0] ?? 'unset',
            ...(span.status?.message ? { message: span.status.message } : {}),
          },
          startMs: Number(BigInt(span.startTimeUnixNano) / 1000n) / 1000,
          endMs: Number(BigInt(span.endTimeUnixNano) / 1000n) / 1000,
          ...(typeof service === 'string' ? { service } : {}),
          ...(scopeSpans.scope?.name ? { scope: scopeSpans.scope.name } : {}),
        });
      }
    }
  }
  return out;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  return req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body;
}

/**
 * An OpenTelemetry collector's OTLP/HTTP receiver, as far as tests need one: a real HTTP server on 127.0.0.1 that
 * accepts `POST /v1/traces` with JSON (what `@opentelemetry/exporter-trace-otlp-http` sends) and keeps every span.
 * Protobuf bodies are refused with 415, so a test notices an exporter configured for them.
 */
export class FakeOtlpCollector {
  readonly exports: CollectedExport[] = [];
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private status: number;

  private constructor(options: FakeOtlpCollectorOptions) {
    this.status = options.status ?? 200;
    this.server = createServer((req, res) => {
      void this.handle(req).then(
        (status) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(status === 200 ? '{}' : JSON.stringify({ code: status, message: 'refused by the fake collector' }));
        },
        () => {
          res.writeHead(400, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ code: 400, message: 'not an OTLP JSON export' }));
        },
      );
    });
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  static async start(options: FakeOtlpCollectorOptions = {}): Promise<FakeOtlpCollector> {
    const collector = new FakeOtlpCollector(options);
    await new Promise<void>((resolve) => collector.server.listen(0, '127.0.0.1', resolve));
    return collector;
  }

  /** The traces endpoint: `http://127.0.0.1:PORT/v1/traces`. */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1/traces`;
  }

  /** Every span received so far, in arrival order. */
  spans(): CollectedSpan[] {
    return this.exports.flatMap((e) => e.spans);
  }

  /** The spans named `name` (a string matches the whole name). */
  named(name: string | RegExp): CollectedSpan[] {
    return this.spans().filter((s) => (typeof name === 'string' ? s.name === name : name.test(s.name)));
  }

  /** Answer the next exports with this status (200 accepts them). */
  respondWith(status: number): this {
    this.status = status;
    return this;
  }

  reset(): void {
    this.exports.length = 0;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage): Promise<number> {
    const body = await readBody(req);
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method !== 'POST' || path !== '/v1/traces') return 404;
    const contentType = req.headers['content-type'];
    if (!contentType?.startsWith('application/json')) return 415;
    const spans = spansOf(JSON.parse(body.toString('utf8')) as OtlpRequest);
    this.exports.push({ path, headers: req.headers, contentType, spans });
    return this.status;
  }
}
