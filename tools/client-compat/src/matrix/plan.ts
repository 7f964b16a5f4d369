// What the issue asks of each client: every row × column here is a cell of MATRIX.md. A cell is "works" or "clear
// error" only when a passing test says so (see cells.ts); a planned cell without one is "not yet".

export const clients = ['openai', 'ai-sdk', 'langchain', 'ollama', 'anthropic'] as const;
export type Client = (typeof clients)[number];

export const clientNames: Record<Client, string> = {
  openai: '`openai`',
  'ai-sdk': '`ai` + `@ai-sdk/openai`',
  langchain: '`@langchain/openai`',
  ollama: '`ollama`',
  anthropic: '`@anthropic-ai/sdk`',
};

/** Each feature, and for each client that has it, the call that exercises it. */
export const plan = {
  chat: {
    openai: 'chat.completions.create',
    'ai-sdk': 'generateText(openai.chat(…))',
    langchain: 'ChatOpenAI.invoke',
    ollama: 'chat',
    anthropic: 'messages.create',
  },
  stream: {
    openai: 'chat.completions.create({stream: true})',
    'ai-sdk': 'streamText(openai.chat(…))',
    langchain: 'ChatOpenAI.stream',
    ollama: 'chat({stream: true})',
    anthropic: 'messages.stream',
  },
  'tools (auto)': {
    openai: 'chat.completions.create({tools})',
    'ai-sdk': 'generateText({tools})',
    langchain: 'bindTools(tools)',
    ollama: 'chat({tools})',
    anthropic: 'messages.create({tools})',
  },
  'tools, streamed': {
    openai: 'chat.completions.create({tools, stream: true})',
    'ai-sdk': 'streamText({tools})',
    langchain: 'bindTools(tools).stream',
    ollama: 'chat({tools, stream: true})',
    anthropic: 'messages.stream({tools})',
  },
  'stream cut by the upstream': {
    openai: 'chat.completions / responses / completions streams',
    'ai-sdk': 'streamText(openai.chat(…) and openai(…))',
    langchain: 'ChatOpenAI.stream (both APIs)',
    ollama: 'chat / generate streams',
    anthropic: 'messages.stream',
  },
  'output cap': {
    openai: "finish_reason: 'length'",
    'ai-sdk': "finishReason: 'length'",
    langchain: "response_metadata.finish_reason: 'length'",
    ollama: "done_reason: 'length'",
    anthropic: "stop_reason: 'max_tokens'",
  },
  'tool_choice none': {
    openai: "tool_choice: 'none'",
    'ai-sdk': "toolChoice: 'none'",
    langchain: "bindTools(tools, {tool_choice: 'none'})",
    anthropic: "tool_choice: {type: 'none'}",
  },
  'tool_choice required': {
    openai: "tool_choice: 'required'",
    'ai-sdk': "toolChoice: 'required'",
    langchain: "bindTools(tools, {tool_choice: 'required'})",
    anthropic: "tool_choice: {type: 'any'}",
  },
  'tool_choice named': {
    openai: "tool_choice: {type: 'function', function: {name}}",
    'ai-sdk': "toolChoice: {type: 'tool', toolName}",
    langchain: 'bindTools(tools, {tool_choice: name})',
    anthropic: "tool_choice: {type: 'tool', name}",
  },
  'structured output': {
    openai: 'chat.completions.parse(zodResponseFormat)',
    'ai-sdk': 'generateObject(openai.chat(…), zod)',
    langchain: 'withStructuredOutput(zod)',
    ollama: 'chat({format: schema})',
    anthropic: 'messages.parse(zodOutputFormat)',
  },
  'tool results (second turn)': {
    openai: 'chat.completions.create(tool message)',
    'ai-sdk': 'generateText({tools, stopWhen})',
    langchain: 'invoke([…, ToolMessage])',
    ollama: "chat(role: 'tool')",
    anthropic: 'messages.create(tool_result)',
  },
  embeddings: {
    openai: 'embeddings.create',
    'ai-sdk': 'embed / embedMany(openai.embedding(…))',
    langchain: 'OpenAIEmbeddings.embedQuery / embedDocuments',
    ollama: 'embed',
  },
  n: {
    openai: 'chat.completions.create({n: 2})',
    langchain: 'ChatOpenAI({n: 2}).generate',
  },
  logprobs: {
    openai: 'chat.completions.create({logprobs, top_logprobs})',
    'ai-sdk': 'providerOptions.openai.logprobs',
    langchain: 'ChatOpenAI({logprobs: true})',
    ollama: 'chat({logprobs: true, top_logprobs})',
  },
  'sampling parameters': {
    openai: 'top_p, frequency_penalty, presence_penalty, seed, stop, user, max_tokens',
    'ai-sdk': 'topP, frequencyPenalty, presencePenalty, seed, stopSequences, maxOutputTokens',
    langchain: 'topP, frequencyPenalty, presencePenalty, stop, maxTokens',
    ollama: 'options {top_p, top_k, seed, stop, num_predict}',
    anthropic: 'stop_sequences, max_tokens, metadata.user_id',
  },
  'Responses API: text': {
    openai: 'responses.create',
    'ai-sdk': 'generateText(openai(…)) (the default provider)',
    langchain: 'ChatOpenAI({useResponsesApi: true}).invoke',
  },
  'Responses API: stream': {
    openai: 'responses.stream',
    'ai-sdk': 'streamText(openai(…))',
    langchain: 'ChatOpenAI({useResponsesApi: true}).stream',
  },
  'Responses API: tools': {
    openai: 'responses.create({tools})',
    'ai-sdk': 'generateText(openai(…), {tools})',
    langchain: 'ChatOpenAI({useResponsesApi: true}).bindTools',
  },
  'Responses API: structured output': {
    openai: 'responses.parse(zodTextFormat)',
    'ai-sdk': 'generateObject(openai(…), zod)',
    langchain: 'ChatOpenAI({useResponsesApi: true}).withStructuredOutput',
  },
  'legacy completions': {
    openai: 'completions.create',
    'ai-sdk': 'generateText(openai.completion(…))',
    langchain: 'OpenAI (the completions LLM).invoke',
    ollama: 'generate',
  },
  'token count': { anthropic: 'messages.countTokens' },
  'list models': {
    openai: 'models.list',
    ollama: 'list',
    anthropic: 'models.list',
  },
  'one model': {
    openai: 'models.retrieve',
    ollama: 'show',
  },
  'loaded models': { ollama: 'ps' },
  pull: { ollama: 'pull' },
  version: { ollama: 'version' },
  'model management': { ollama: 'delete, copy, create, push' },
} as const satisfies Record<string, Partial<Record<Client, string>>>;

export type Feature = keyof typeof plan;
/** The features a client has a call for. */
export type FeatureOf<C extends Client> = {
  [F in Feature]: C extends keyof (typeof plan)[F] ? F : never;
}[Feature];
