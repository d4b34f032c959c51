/**
 * Chat templates: load the model's Jinja `chat_template` and render a chat request into the exact
 * prompt text, as transformers' `apply_chat_template(..., tokenize=False)` does.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { QwenrtError, errorMessage } from "../util/errors.js";
import { isObject, readJsonFile } from "../util/json.js";
import { DEFAULT_RENDER_LIMITS, parseTemplate, RenderLimitError, renderPython, type JinjaTemplate, type RenderLimits } from "./jinja-env.js";
import { parseChatRequest, type ChatRequest } from "./messages.js";

/** Special-token names transformers passes to chat templates (its `special_tokens_map`). */
const SPECIAL_TOKEN_KEYS = [
  "bos_token",
  "eos_token",
  "unk_token",
  "sep_token",
  "pad_token",
  "cls_token",
  "mask_token",
] as const;

/** Where a template comes from and the special tokens it may reference. */
export type ChatTemplateSource = {
  /** One template, or named variants (`default`, `tool_use`, ...) as in `tokenizer_config.json`. */
  template: string | Array<{ name: string; template: string }>;
  /** Names the template in errors, e.g. `/m/tokenizer_config.json chat_template`. */
  where: string;
  /** `bos_token`, `eos_token`, ... as strings; absent tokens are left out (as transformers does). */
  specialTokens?: Partial<Record<(typeof SPECIAL_TOKEN_KEYS)[number], string>>;
  additionalSpecialTokens?: string[];
  /** Bounds on each rendering (default `DEFAULT_RENDER_LIMITS`: 5 s, 256 Mi characters). */
  limits?: RenderLimits;
};

/**
 * A parsed chat template, ready to render requests.
 *
 * @example
 * const tpl = loadChatTemplate("models/Qwen3-0.6B");
 * tpl.render({ messages: [{ role: "user", content: "Hi" }], enable_thinking: false });
 * // "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
 */
export class ChatTemplate {
  private readonly variants: Map<string, JinjaTemplate>;
  private readonly where: string;
  private readonly globals: Record<string, unknown>;
  private readonly sources: readonly string[];
  private readonly limits: RenderLimits;

  constructor(source: ChatTemplateSource) {
    this.where = source.where;
    this.limits = source.limits ?? DEFAULT_RENDER_LIMITS;
    const list = typeof source.template === "string" ? [{ name: "default", template: source.template }] : source.template;
    this.sources = list.map((v) => v.template);
    this.variants = new Map();
    for (const { name, template } of list) {
      const where = list.length === 1 ? this.where : `${this.where}[${JSON.stringify(name)}]`;
      try {
        this.variants.set(name, parseTemplate(template));
      } catch (e) {
        throw new QwenrtError(where, `cannot parse template (${errorMessage(e)})`, { code: "invalid_template" });
      }
    }
    this.globals = { ...source.specialTokens };
    if (source.additionalSpecialTokens !== undefined) {
      this.globals.additional_special_tokens = source.additionalSpecialTokens;
    }
  }

  /**
   * Render an OpenAI-style chat request body (validated here; errors name the field path) into the
   * prompt text. `add_generation_prompt` defaults to true; `chat_template_kwargs` and the
   * `enable_thinking` shorthand become top-level template variables.
   */
  render(body: unknown): string {
    return this.renderRequest(parseChatRequest(body));
  }

  /**
   * Whether the template's source contains `text` (in any variant), e.g. whether it writes `</think>`
   * at all: a thinking model's template does even where the tag is not one token.
   */
  mentions(text: string): boolean {
    return this.sources.some((s) => s.includes(text));
  }

  /**
   * Render an already-validated request. Errors: `template_rejected` when the template's
   * `raise_exception` refuses the conversation (the request's fault), `template_limit` past the
   * render limits and `invalid_template` when the template itself fails (the model's fault).
   */
  renderRequest(req: ChatRequest): string {
    const hasTools = req.tools !== undefined && req.tools.length > 0;
    const [name, template] = this.select(hasTools);
    const where = this.variants.size === 1 ? this.where : `${this.where}[${JSON.stringify(name)}]`;
    // Same variables, same precedence as transformers: special tokens, then the caller's kwargs.
    const vars: Record<string, unknown> = {
      ...this.globals,
      ...req.templateKwargs,
      messages: req.messages,
      tools: req.tools ?? null,
      documents: null,
      add_generation_prompt: req.addGenerationPrompt,
    };
    const raise = (msg: string): never => {
      throw new QwenrtError(where, msg, { code: "template_rejected" });
    };
    try {
      return renderPython(template, vars, raise, this.limits);
    } catch (e) {
      if (e instanceof QwenrtError) throw e;
      throw new QwenrtError(where, errorMessage(e), { code: e instanceof RenderLimitError ? "template_limit" : "invalid_template" });
    }
  }

  // transformers: the "tool_use" variant when tools are given and it exists, else "default".
  private select(hasTools: boolean): [string, JinjaTemplate] {
    if (this.variants.size === 1) {
      const [only] = this.variants.entries();
      if (only !== undefined) return only;
    }
    const name = hasTools && this.variants.has("tool_use") ? "tool_use" : "default";
    const t = this.variants.get(name);
    if (t === undefined) {
      throw new QwenrtError(this.where, `no "${name}" template among ${[...this.variants.keys()].join(", ")}`, {
        code: "invalid_template",
      });
    }
    return [name, t];
  }
}

// A special token is a string or an AddedToken object `{ content: "...", ... }`; null means unset.
function tokenString(v: unknown, where: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "string") return v;
  if (isObject(v) && typeof v.content === "string") return v.content;
  throw new QwenrtError(where, 'must be a string or an AddedToken object with "content"');
}

function templateField(v: unknown, file: string): ChatTemplateSource["template"] {
  if (typeof v === "string") return v;
  if (Array.isArray(v) && v.length > 0) {
    return v.map((item, i) => {
      if (!isObject(item) || typeof item.name !== "string" || typeof item.template !== "string") {
        throw new QwenrtError(`${file}: "chat_template"[${i}]`, 'must be an object {"name": string, "template": string}');
      }
      return { name: item.name, template: item.template };
    });
  }
  throw new QwenrtError(`${file}: "chat_template"`, "must be a string or a non-empty list of {name, template}");
}

/**
 * Read a model directory's chat template: `chat_template.jinja` when present (newer transformers
 * saves it there and prefers it), otherwise `chat_template` in `tokenizer_config.json`; special
 * tokens come from `tokenizer_config.json`.
 *
 * @example
 * const tpl = loadChatTemplate("test/fixtures/qwen3-tokenizer");
 */
export function loadChatTemplate(modelDir: string): ChatTemplate {
  const file = join(modelDir, "tokenizer_config.json");
  const cfg = readJsonFile(file);
  if (!isObject(cfg)) throw new QwenrtError(file, "must be a JSON object");
  const jinjaFile = join(modelDir, "chat_template.jinja");
  let template: ChatTemplateSource["template"];
  let where: string;
  if (existsSync(jinjaFile)) {
    template = readFileSync(jinjaFile, "utf8");
    where = jinjaFile;
  } else if (cfg.chat_template !== undefined && cfg.chat_template !== null) {
    template = templateField(cfg.chat_template, file);
    where = `${file} chat_template`;
  } else {
    throw new QwenrtError(file, 'no "chat_template" (and no chat_template.jinja beside it)', { code: "not_found" });
  }
  const specialTokens: ChatTemplateSource["specialTokens"] = {};
  for (const key of SPECIAL_TOKEN_KEYS) {
    const s = tokenString(cfg[key], `${file}: "${key}"`);
    if (s !== undefined) specialTokens[key] = s;
  }
  const extra = cfg.additional_special_tokens;
  let additionalSpecialTokens: string[] | undefined;
  if (Array.isArray(extra)) {
    additionalSpecialTokens = extra.map((t: unknown, i) => {
      const where = `${file}: "additional_special_tokens"[${i}]`;
      const s = tokenString(t, where);
      if (s === undefined) throw new QwenrtError(where, "must not be null");
      return s;
    });
  }
  return new ChatTemplate({ template, where, specialTokens, additionalSpecialTokens });
}

/**
 * Whether generation continues inside an open thinking block, judged from the rendered prompt's last
 * turn: false when that turn already closed it (`enable_thinking=false` renders `<think>\n\n</think>`),
 * true otherwise (the model opens `<think>` itself, or the template opened it for the model).
 * Only meaningful for models that think; the caller decides that per model.
 *
 * @example
 * promptThinkingEnabled("<|im_start|>assistant\n<think>\n\n</think>\n\n"); // false
 */
export function promptThinkingEnabled(prompt: string): boolean {
  const lastTurn = prompt.slice(Math.max(0, prompt.lastIndexOf("<|im_start|>")));
  const open = lastTurn.lastIndexOf("<think>");
  const close = lastTurn.lastIndexOf("</think>");
  return close < 0 || open > close;
}
