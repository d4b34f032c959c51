/**
 * Qwen3Guard-Stream as a token-level moderator. The conversation is rendered with the guard's own
 * chat template (thinking off, as the model card's demo does) and prefilled once; the query heads
 * judge the prompt at the `<|im_end|>` closing the last user turn. The answer then streams in as
 * the assistant turn's tokens (`\n<|im_start|>assistant\n…`, its content, `<|im_end|>`): each token
 * is appended to the same KV cache and judged by the response heads.
 */
import { GUARD_VERDICTS, type GuardMessage, type GuardSafety } from "../chat/guard.js";
import type { ChatTemplate } from "../chat/template.js";
import { guardHeadLogits, type GuardHeads, type GuardSide } from "../models/guard_heads.js";
import type { Model, Sequence } from "../models/model.js";
import type { Tokenizer } from "../tokenizer/index.js";
import type { GuardVerdict } from "./guard.js";
import { QwenrtError } from "../util/errors.js";

/** A loaded Qwen3Guard-Stream model with what it reads text with. */
export interface StreamGuard {
  readonly model: Model;
  readonly heads: GuardHeads;
  readonly tokenizer: Tokenizer;
  readonly template: ChatTemplate;
}

/** The guard's judgement of one token (of the text up to and including it). */
export interface TokenVerdict {
  readonly token: number;
  readonly safety: GuardSafety;
  /** Softmax over the risk head. */
  readonly probabilities: Readonly<Record<GuardSafety, number>>;
  /** The category head's top class (meaningful when not Safe). */
  readonly category: string;
  readonly categoryProbability: number;
}

const END = "<|im_end|>";

function softmax(z: Float32Array): number[] {
  const m = Math.max(...z);
  const e = Array.from(z, (v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** A risk-level class name as a verdict; config.json's maps must use the three verdicts' names. */
function safetyOf(name: string): GuardSafety {
  const s = GUARD_VERDICTS.find((v) => v === name);
  if (s === undefined) throw new QwenrtError("config.json", `risk level ${JSON.stringify(name)} is not one of ${GUARD_VERDICTS.join(", ")}`);
  return s;
}

/** The verdict the `side` heads give a position's final hidden state. */
export function tokenVerdict(heads: GuardHeads, side: GuardSide, hidden: Float32Array, token: number): TokenVerdict {
  const labels = heads.config[side];
  const { risk, category } = guardHeadLogits(heads, side, hidden);
  const p = softmax(risk);
  const levels = labels.riskLevels.map(safetyOf);
  const probabilities: Record<GuardSafety, number> = { Safe: 0, Unsafe: 0, Controversial: 0 };
  levels.forEach((s, i) => (probabilities[s] += p[i]!));
  const best = p.indexOf(Math.max(...p));
  const pc = softmax(category);
  const c = pc.indexOf(Math.max(...pc));
  return { token, safety: levels[best]!, probabilities, category: labels.categories[c]!, categoryProbability: pc[c]! };
}

/** Render `messages` (ending with a user turn) into the prompt prefix and the assistant turn's header. */
function renderTurns(template: ChatTemplate, messages: readonly GuardMessage[]): { prefix: string; header: string } {
  if (messages.length === 0 || messages[messages.length - 1]!.role !== "user") throw new QwenrtError("messages", "must end with a user message for the guard to judge the prompt");
  const render = (m: readonly GuardMessage[]): string => template.render({ messages: m, add_generation_prompt: false, enable_thinking: false });
  const prompt = render(messages);
  const full = render([...messages, { role: "assistant", content: "" }]);
  if (!prompt.endsWith(`${END}\n`) || !full.startsWith(prompt) || !full.endsWith(`${END}\n`)) {
    throw new QwenrtError("chat_template", `the guard's template does not close turns with ${END}: not a Qwen3 chat template`);
  }
  // Scored at the user turn's `<|im_end|>`; the newline after it opens the assistant turn.
  const prefix = prompt.slice(0, -1);
  return { prefix, header: full.slice(prefix.length, full.length - END.length - 1) };
}

/** Options of `moderateStream`. */
export interface StreamModerationOptions {
  readonly signal?: AbortSignal;
}

/**
 * One conversation under a Stream guard: the prompt's verdict, then the answer fed as it grows.
 * Holds a KV sequence of the guard model until `close`.
 */
export class StreamModeration {
  /** Response-side tokens fed so far (the assistant header first) and their verdicts. */
  readonly fed: number[] = [];
  readonly verdicts: TokenVerdict[] = [];
  private closed = false;

  private constructor(
    private readonly guard: StreamGuard,
    private readonly seq: Sequence,
    private readonly header: string,
    /** The query heads' verdict on the prompt. */
    readonly prompt: TokenVerdict,
    readonly promptTokens: number,
    private readonly signal?: AbortSignal,
  ) {}

  /** Prefill `messages` (ending with a user turn) and judge the prompt. */
  static async open(guard: StreamGuard, messages: readonly GuardMessage[], opts: StreamModerationOptions = {}): Promise<StreamModeration> {
    const { prefix, header } = renderTurns(guard.template, messages);
    const ids = guard.tokenizer.encode(prefix, { addSpecialTokens: false });
    const end = guard.tokenizer.tokenToId(END);
    if (ids[ids.length - 1] !== end) throw new QwenrtError("tokenizer", `does not read ${END} as one token: not a Qwen3 tokenizer`);
    const model = guard.model;
    if (ids.length >= model.contextLength) throw new QwenrtError("messages", `the guard prompt has ${ids.length} tokens, more than the guard's ${model.contextLength} positions`, { code: "context_length_exceeded" });
    opts.signal?.throwIfAborted();
    const seq = model.newSequence(ids.length + 256);
    try {
      const [h] = await model.forwardAsync([{ seq, ids: Int32Array.from(ids) }], { output: "hidden" });
      return new StreamModeration(guard, seq, header, tokenVerdict(guard.heads, "query", h!, end), ids.length, opts.signal);
    } catch (e) {
      model.release(seq);
      throw e;
    }
  }

  /** Append response-side tokens and judge each. */
  async push(ids: readonly number[]): Promise<TokenVerdict[]> {
    if (this.closed) throw new QwenrtError("moderation", "was closed");
    if (ids.length === 0) return [];
    this.signal?.throwIfAborted();
    const model = this.guard.model;
    if (this.seq.length + ids.length > model.contextLength) throw new QwenrtError("answer", `the conversation outgrows the guard's ${model.contextLength} positions`, { code: "context_length_exceeded" });
    const [rows] = await model.forwardAsync([{ seq: this.seq, ids: Int32Array.from(ids) }], { logits: "all", output: "hidden" });
    const width = model.config.hiddenSize;
    const out = ids.map((t, i) => tokenVerdict(this.guard.heads, "response", rows!.subarray(i * width, (i + 1) * width), t));
    this.fed.push(...ids);
    this.verdicts.push(...out);
    return out;
  }

  /**
   * Judge the answer's text so far (its whole content, not a delta): it is tokenized after the
   * assistant header and the tokens not yet fed are pushed. Where the new text changes how the end
   * of the old one tokenizes, the cache is cut back to the common prefix and those tokens judged anew.
   */
  async pushText(answer: string): Promise<TokenVerdict[]> {
    const ids = this.guard.tokenizer.encode(this.header + answer, { addSpecialTokens: false });
    let common = 0;
    while (common < this.fed.length && common < ids.length && this.fed[common] === ids[common]) common++;
    if (common < this.fed.length) {
      this.guard.model.truncate(this.seq, this.promptTokens + common);
      this.fed.length = common;
      this.verdicts.length = common;
    }
    return this.push(ids.slice(common));
  }

  /** Close the assistant turn (`<|im_end|>`) and judge that token. */
  async end(): Promise<TokenVerdict[]> {
    return this.push([this.guard.tokenizer.tokenToId(END)!]);
  }

  /** The first Unsafe token judged so far. */
  firstUnsafe(): TokenVerdict | undefined {
    return this.verdicts.find((v) => v.safety === "Unsafe");
  }

  /** Give the guard's KV sequence back. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.guard.model.release(this.seq);
  }
}

/**
 * Open a stream moderation of `messages` (ending with the user's turn): `prompt` is the prompt's
 * verdict; feed the answer with `push(ids)` or `pushText(textSoFar)`, then `end()`; `close()` after.
 *
 * @example
 * const m = await moderateStream(guard, [{ role: "user", content: "Hi" }]);
 * m.prompt.safety; // "Safe"
 * for (const v of await m.pushText("Hello there")) if (v.safety === "Unsafe") break;
 * m.close();
 */
export function moderateStream(guard: StreamGuard, messages: readonly GuardMessage[], opts: StreamModerationOptions = {}): Promise<StreamModeration> {
  return StreamModeration.open(guard, messages, opts);
}

/**
 * Judge the last message of `messages` with a Stream guard, in `moderate`'s shape: a user message
 * by the query heads; an assistant message token by token, its verdict the first Unsafe token's
 * (where a streamed answer would be cut) or else its closing token's.
 *
 * @example
 * const v = await moderateWithStreamGuard(guard, [{ role: "user", content: "Hi" }, { role: "assistant", content: "Hello!" }]);
 * v.target; // "response"
 */
export async function moderateWithStreamGuard(guard: StreamGuard, messages: readonly GuardMessage[], opts: StreamModerationOptions = {}): Promise<GuardVerdict> {
  const last = messages[messages.length - 1];
  const response = last?.role === "assistant";
  const m = await moderateStream(guard, response ? messages.slice(0, -1) : messages, opts);
  try {
    let v = m.prompt;
    if (response) {
      await m.pushText(last.content);
      await m.end();
      v = m.firstUnsafe() ?? m.verdicts[m.verdicts.length - 1]!;
    }
    return { target: response ? "response" : "prompt", safety: v.safety, probabilities: v.probabilities, categories: v.safety === "Safe" ? [] : [v.category], promptTokens: m.promptTokens };
  } finally {
    m.close();
  }
}
