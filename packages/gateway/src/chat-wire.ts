import type { GatewayError } from './errors';
import type { GatewayChatResponse, GatewayStreamEvent } from './gateway-router';

/** One protocol's shape of a chat exchange (OpenAI, Ollama chat, Ollama generate): bodies, stream chunks, errors. */
export interface ChatWire {
  /** Metric and event label: `openai.chat`, `ollama.chat`, `ollama.generate`. */
  endpoint: string;
  streamContentType: string;
  /** The body of a non-streamed answer; `others` are further choices of the same prompt (OpenAI's `n`). */
  completion(response: GatewayChatResponse, others?: GatewayChatResponse[]): unknown;
  /** Written once before the first event, if the protocol has an opening chunk. */
  streamStart?(): string;
  /** One router stream event as wire text ('' to skip). `finish` yields the protocol's closing chunk(s). */
  streamEvent(event: GatewayStreamEvent): string;
  /** The protocol's in-stream error: after the commit point a failure is said, never a silent clean end. */
  streamError(error: GatewayError): string;
  /** The protocol's error body for a failed request. */
  errorBody(error: GatewayError): unknown;
}
