import type { ChatMessage, ChatRequest, ChatResponse, ToolCall, ToolChoice, ToolDefinition } from '@unity/core';
import { ProviderError } from './errors';
import type { ProviderFeatures } from './provider';

/** The request fields a provider may be unable to honour, by the name the router's errors use. */
type OptionalParameter = 'logprobs' | 'topK' | 'frequencyPenalty' | 'presencePenalty' | 'reasoningEffort';

/** The first option of the request that a provider with these features cannot honour, if any. */
export function unhonouredParameter(
  request: ChatRequest,
  features: ProviderFeatures | undefined,
): OptionalParameter | undefined {
  if (!features) return undefined;
  if (request.logprobs && !features.logprobs) return 'logprobs';
  if (request.topK !== undefined && !features.topK) return 'topK';
  const effort = request.reasoningEffort;
  if (effort !== undefined && effort !== 'none' && !features.reasoning) return 'reasoningEffort';
  if (!features.penalties) {
    if (request.frequencyPenalty !== undefined) return 'frequencyPenalty';
    if (request.presencePenalty !== undefined) return 'presencePenalty';
  }
  return undefined;
}

/** Why a request contradicts itself, before any model is tried. */
export function requestContradiction(
  request: ChatRequest,
): { param: string; message: string; fix: string } | undefined {
  const choice = request.toolChoice;
  if (choice === undefined || choice === 'auto' || choice === 'none') return undefined;
  const tools = request.tools ?? [];
  if (tools.length === 0) {
    return {
      param: 'toolChoice',
      message: `toolChoice ${describeChoice(choice)} asks for a tool call, but the request offers no tools`,
      fix: 'offer the tools in the request, or drop toolChoice',
    };
  }
  if (typeof choice === 'object' && !tools.some((t) => t.name === choice.name)) {
    return {
      param: 'toolChoice',
      message: `toolChoice names the tool "${choice.name}", which is not among the offered tools (${tools.map((t) => t.name).join(', ')})`,
      fix: 'name one of the offered tools, or offer that tool',
    };
  }
  return undefined;
}

/**
 * How one attempt carries out `toolChoice` and `parallelToolCalls`: natively (passed on), or emulated for a provider
 * without them — tools withheld for `none`, only the named tool offered and an instruction added for a forced call,
 * and the answer checked afterwards (`check`).
 */
interface ToolPlan {
  tools: ToolDefinition[];
  messages: ChatMessage[];
  /** Forwarded to the provider when it honours tool choice itself. */
  toolChoice?: ToolChoice;
  parallelToolCalls?: boolean;
  /** Set when the router must check the answer: any tool call (`true`), or this tool. */
  mustCall?: true | string;
  /** Keep only the first tool call of an answer (parallel calls off, emulated). */
  firstCallOnly: boolean;
}

export function planTools(
  request: ChatRequest,
  messages: ChatMessage[],
  features: ProviderFeatures | undefined,
): ToolPlan {
  const tools = request.tools ?? [];
  const choice = request.toolChoice;
  const plan: ToolPlan = { tools, messages, firstCallOnly: false };
  if (tools.length === 0) return plan;
  if (request.parallelToolCalls !== undefined) {
    if (!features || features.parallelToolCalls) plan.parallelToolCalls = request.parallelToolCalls;
    else plan.firstCallOnly = !request.parallelToolCalls;
  }
  if (choice === undefined || choice === 'auto') return plan;
  if (!features || features.toolChoice) return { ...plan, toolChoice: choice };
  if (choice === 'none') return { ...plan, tools: [] };
  const named = typeof choice === 'object' ? choice.name : undefined;
  const offered = named ? tools.filter((t) => t.name === named) : tools;
  const instruction = named
    ? `Answer by calling the tool "${named}" now; do not reply with text.`
    : 'Answer by calling one of the offered tools now; do not reply with text.';
  return { ...plan, tools: offered, messages: withInstruction(messages, instruction), mustCall: named ?? true };
}

/** Apply the plan to an answer: extra calls dropped, and a forced call that did not come is a failed attempt. */
export function enforceToolPlan(
  plan: ToolPlan,
  response: ChatResponse,
  where: { provider: string; model: string },
): ChatResponse {
  const calls = plan.firstCallOnly ? response.toolCalls.slice(0, 1) : response.toolCalls;
  if (plan.mustCall !== undefined && !satisfies(calls, plan.mustCall)) {
    const wanted = plan.mustCall === true ? 'a tool call' : `a call of "${plan.mustCall}"`;
    const got = calls.length === 0 ? 'a text answer' : `calls of ${calls.map((c) => `"${c.name}"`).join(', ')} instead`;
    // BAD_RESPONSE is transient: the router retries the model, then falls back, as for any malformed answer.
    throw new ProviderError({
      code: 'BAD_RESPONSE',
      message: `${where.model} gave ${got} where toolChoice required ${wanted}`,
      fix: 'use a model that follows tool instructions (e.g. qwen2.5-coder:7b), or relax toolChoice to auto',
      provider: where.provider,
      model: where.model,
    });
  }
  if (calls === response.toolCalls) return response;
  return { ...response, toolCalls: calls, finishReason: calls.length > 0 ? 'tool_calls' : response.finishReason };
}

function satisfies(calls: readonly ToolCall[], mustCall: true | string): boolean {
  return mustCall === true ? calls.length > 0 : calls.length > 0 && calls.every((c) => c.name === mustCall);
}

function withInstruction(messages: ChatMessage[], instruction: string): ChatMessage[] {
  const first = messages[0];
  if (first?.role === 'system') {
    return [{ role: 'system', content: `${first.content}\n\n${instruction}` }, ...messages.slice(1)];
  }
  return [{ role: 'system', content: instruction }, ...messages];
}

function describeChoice(choice: ToolChoice): string {
  return typeof choice === 'object' ? `{ name: "${choice.name}" }` : `"${choice}"`;
}
