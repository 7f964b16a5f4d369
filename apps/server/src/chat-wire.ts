import type { GatewayError } from './errors';
import type { GatewayChatResponse, GatewayStreamEvent } from './gateway-router';

/** What a wire format knows of the exchange while it formats it. */
export interface WireContext {
  /** The model that served, once known. */
  servedModel?: string;
}

/** One protocol's shape of a chat exchange (OpenAI, Ollama chat, Ollama generate): bodies, stream chunks, errors. */
export interface ChatWire {
  /** Metric and event label: `openai.chat`, `ollama.chat`, `ollama.generate`. */
  endpoint: string;
  streamContentType: string;
  /** The body of a non-streamed answer. */
  completion(response: GatewayChatResponse): unknown;
  /** Written once before the first event, if the protocol has an opening chunk. */
  streamStart?(ctx: WireContext): string;
  /** One router stream event as wire text ('' to skip). `finish` yields the protocol's closing chunk(s). */
  streamEvent(event: GatewayStreamEvent, ctx: WireContext): string;
  /** The protocol's in-stream error: after the commit point a failure is said, never a silent clean end. */
  streamError(error: GatewayError, ctx: WireContext): string;
  /** The protocol's error body for a failed request. */
  errorBody(error: GatewayError): unknown;
}
