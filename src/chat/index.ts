/** Chat layer: templates, request validation, reasoning and tool-call parsers, thinking budget. */
export { ChatTemplate, loadChatTemplate, promptThinkingEnabled, type ChatTemplateSource } from "./template.js";
export { chatRequestSchema, parseChatRequest, type ChatMessage, type ChatRequest } from "./messages.js";
export { ReasoningStream, parseReasoning, type ReasoningOptions, type ReasoningSplit } from "./reasoning.js";
export { parseToolCalls, randomCallId, type IdGenerator, type ToolCall, type ToolCallParse } from "./tools.js";
export { ToolCallStream, collectToolEvents, type ToolStreamEvent } from "./tools-stream.js";
export { XmlToolCallStream, parseXmlToolCalls, toolCallFormatOf, toolParamTypes, type ToolCallFormat, type ToolParamTypes } from "./tools-xml.js";
export { THINKING_EARLY_STOP, ThinkingBudget, ThoughtText, budgetExhausted, type BudgetAction, type BudgetPhase } from "./budget.js";
