/** A tool call a scripted reply makes. `arguments` may be an object or a raw JSON string (even a broken one). */
export interface ScriptedToolCall {
  id?: string;
  name: string;
  arguments: Record<string, unknown> | string;
}

/** A successful reply. Streamed replies are cut into word-sized chunks unless `chunkSize` says otherwise. */
export interface Reply {
  text?: string;
  /** Reasoning: MiniMax-style `<think>…</think>` in the content, or `reasoning_details` when `reasoning_split` was sent. */
  reasoning?: string;
  toolCalls?: ScriptedToolCall[];
  finishReason?: 'stop' | 'length' | 'tool_calls';
  usage?: { promptTokens: number; completionTokens: number };
  /** Wait this long before sending the status line and headers. */
  delayMs?: number;
  /** Wait this long between streamed chunks. */
  chunkDelayMs?: number;
  /** Characters per streamed chunk (default: one word per chunk). */
  chunkSize?: number;
  /** OpenAI `n` > 1 (non-streaming): the text of choices 1, 2, … (default: each repeats `text`). */
  choiceTexts?: string[];
}

/** A failure the fake produces instead of a reply. */
export type Fault =
  /** Destroy the socket as soon as the request arrives (ECONNRESET / "socket hang up"). */
  | { fault: 'reset' }
  /** An HTTP error in the protocol's error shape. */
  | { fault: 'status'; status: number; message?: string; retryAfter?: number; code?: string }
  /** Accept the request and never answer (until the client gives up). */
  | { fault: 'hang' }
  /** Answer normally after a delay before the first byte. */
  | { fault: 'slow-first-byte'; ms: number; reply?: Reply }
  /** Send 200 and the streaming headers, then drop the connection before any token. */
  | { fault: 'cut-before-first-token' }
  /** Stream `chunks` content chunks of the reply, then drop the connection without a clean end. */
  | { fault: 'cut-after-chunks'; chunks: number; reply?: Reply }
  /** A body (or, when streaming, a chunk) that is not valid JSON. */
  | { fault: 'malformed-json' }
  /** Under HTTP 200: stream `chunks` chunks, then an error inside the stream (Ollama's `{"error"}` line, OpenAI's SSE error). */
  | { fault: 'stream-error'; message?: string; chunks?: number }
  /** MiniMax: HTTP 200 with `base_resp.status_code != 0` and no choices. */
  | { fault: 'base-resp'; statusCode?: number; statusMsg?: string };

export type Step = Reply | Fault;

export function isFault(step: Step): step is Fault {
  return 'fault' in step;
}

/** What a scripted handler sees of a chat request. */
export interface ChatRequestInfo {
  path: string;
  body: Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
  stream: boolean;
}

/**
 * Ordered steps consumed by chat requests, then a default. A step given as a function is computed from the request.
 */
export type StepSource = Step | ((request: ChatRequestInfo) => Step);

export class Script {
  private queue: StepSource[] = [];
  private fallback: StepSource;

  constructor(fallback: StepSource) {
    this.fallback = fallback;
  }

  push(...steps: StepSource[]): void {
    this.queue.push(...steps);
  }

  /** Replace the reply used once the queue is empty. */
  setDefault(step: StepSource): void {
    this.fallback = step;
  }

  clear(): void {
    this.queue = [];
  }

  get pending(): number {
    return this.queue.length;
  }

  next(request: ChatRequestInfo): Step {
    const source = this.queue.shift() ?? this.fallback;
    return typeof source === 'function' ? source(request) : source;
  }
}
