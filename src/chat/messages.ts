/**
 * The shape of an OpenAI-style chat request as the chat template sees it: validated with zod, with
 * errors that name the field path (`messages[2].role`), and normalized the way OpenAI-compatible
 * servers do before `apply_chat_template` (content parts joined, `null` content made `""`).
 */
import { z } from "zod";
import { QwenrtError } from "../util/errors.js";

const textPart = z.looseObject({
  type: z.literal("text", { error: 'only "text" content parts are supported' }),
  text: z.string({ error: "must be a string" }),
});

const toolCall = z.looseObject({
  id: z.string({ error: "must be a string" }).optional(),
  type: z.string({ error: "must be a string" }).optional(),
  function: z.looseObject({
    name: z.string({ error: "must be a string" }),
    // OpenAI sends a JSON string; Qwen's own template also accepts an object (rendered with tojson).
    arguments: z.union([z.string(), z.record(z.string(), z.unknown())], {
      error: "must be a JSON string or an object",
    }),
  }),
});

const message = z.looseObject({
  // "developer" is OpenAI's newer name for "system" (o1 and later); templates know only "system".
  role: z.enum(["system", "developer", "user", "assistant", "tool"], {
    error: (iss) => `must be one of "system", "developer", "user", "assistant", "tool", got ${JSON.stringify(iss.input)}`,
  }),
  content: z
    .union([z.string(), z.null(), z.array(textPart)], {
      error: "must be a string, null, or an array of text parts",
    })
    .optional(),
  tool_calls: z.array(toolCall, { error: "must be an array" }).nullable().optional(),
  reasoning_content: z.string({ error: "must be a string" }).nullable().optional(),
  tool_call_id: z.string({ error: "must be a string" }).optional(),
  name: z.string({ error: "must be a string" }).optional(),
});

const tool = z.looseObject({
  type: z.string({ error: "must be a string" }).optional(),
  function: z
    .looseObject({ name: z.string({ error: "must be a string" }) })
    .optional(),
});

/** Schema of the part of a chat request body that reaches the template. Unknown keys pass through. */
export const chatRequestSchema = z.looseObject({
  messages: z.array(message, { error: "must be an array of messages" }).min(1, { error: "must not be empty" }),
  tools: z.array(tool, { error: "must be an array" }).nullable().optional(),
  add_generation_prompt: z.boolean({ error: "must be a boolean" }).optional(),
  chat_template_kwargs: z.record(z.string(), z.unknown(), { error: "must be an object" }).nullable().optional(),
  enable_thinking: z.boolean({ error: "must be a boolean" }).optional(),
});

/** One message after normalization: `content` is always a string, `developer` is `system`; other keys are kept as given. */
export type ChatMessage = Omit<z.infer<typeof message>, "content" | "role"> & { role: "system" | "user" | "assistant" | "tool"; content: string };

/** A validated, normalized chat request: what `renderChat` needs. */
export type ChatRequest = {
  messages: ChatMessage[];
  tools?: Array<z.infer<typeof tool>>;
  addGenerationPrompt: boolean;
  /** Extra top-level template variables (`enable_thinking`, ...). */
  templateKwargs: Record<string, unknown>;
};

/** Format a path like `messages[2].content[0].type`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out === "" ? String(p) : `.${String(p)}`;
  return out === "" ? "request" : out;
}

// A union failure is most useful when one branch got deeper than the top (an array of parts with one
// bad part): report that branch's issue at its full path rather than "invalid input".
function deepestIssue(issue: z.core.$ZodIssue): { path: PropertyKey[]; message: string } {
  if (issue.code === "invalid_union") {
    for (const branch of issue.errors) {
      const deep = branch.find((i) => i.path.length > 0);
      if (deep !== undefined) {
        const inner = deepestIssue(deep);
        return { message: inner.message, path: [...issue.path, ...inner.path] };
      }
    }
  }
  return { path: issue.path, message: issue.message };
}

/**
 * Validate an OpenAI-style chat request body and normalize it for the template. Throws a
 * `QwenrtError` whose `where` is the field path at fault (e.g. `messages[2].role`).
 *
 * @example
 * const req = parseChatRequest({ messages: [{ role: "user", content: "Hi" }], enable_thinking: false });
 * req.templateKwargs; // { enable_thinking: false }
 */
export function parseChatRequest(body: unknown): ChatRequest {
  const r = chatRequestSchema.safeParse(body);
  if (!r.success) {
    const first = r.error.issues[0];
    const issue = first === undefined ? { path: [], message: "invalid request" } : deepestIssue(first);
    throw new QwenrtError(formatPath(issue.path), issue.message, { code: "invalid_request" });
  }
  const req = r.data;
  const kwargs: Record<string, unknown> = { ...(req.chat_template_kwargs ?? {}) };
  for (const reserved of ["messages", "tools"]) {
    if (reserved in kwargs) {
      throw new QwenrtError(`chat_template_kwargs.${reserved}`, `"${reserved}" is set by the request itself`, {
        code: "invalid_request",
      });
    }
  }
  if (req.enable_thinking !== undefined) {
    if ("enable_thinking" in kwargs && kwargs.enable_thinking !== req.enable_thinking) {
      throw new QwenrtError("enable_thinking", "conflicts with chat_template_kwargs.enable_thinking", {
        code: "invalid_request",
      });
    }
    kwargs.enable_thinking = req.enable_thinking;
  }
  let addGenerationPrompt = req.add_generation_prompt ?? true;
  if ("add_generation_prompt" in kwargs) {
    const v = kwargs.add_generation_prompt;
    if (typeof v !== "boolean") {
      throw new QwenrtError("chat_template_kwargs.add_generation_prompt", "must be a boolean", {
        code: "invalid_request",
      });
    }
    addGenerationPrompt = v;
    delete kwargs.add_generation_prompt;
  }
  const messages = req.messages.map((m): ChatMessage => {
    const out: ChatMessage = { ...m, role: m.role === "developer" ? "system" : m.role, content: contentText(m.content) };
    // Drop absent optional keys so the template's `is defined` tests see them as undefined.
    for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
    return out;
  });
  const tools = req.tools === null || req.tools === undefined ? undefined : req.tools;
  return tools === undefined
    ? { messages, addGenerationPrompt, templateKwargs: kwargs }
    : { messages, tools, addGenerationPrompt, templateKwargs: kwargs };
}

// Text parts are joined with "\n", as vLLM does for string-content templates; `null` (an assistant
// turn that only calls tools) becomes "" because Qwen's template applies string methods to content.
function contentText(content: string | null | undefined | Array<{ text: string }>): string {
  if (content === null || content === undefined) return "";
  if (typeof content === "string") return content;
  return content.map((p) => p.text).join("\n");
}
