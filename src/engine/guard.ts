/**
 * Qwen3Guard-Gen as a classifier. One forward over the guard prompt ending in `Safety:` scores the
 * three verdict tokens; a safe prompt is done there. Otherwise the category line is decoded
 * greedily, constrained to the policy's category names (so the answer always parses), and for a
 * response the refusal is scored the same way after `Refusal:`.
 */
import { GUARD_VERDICTS, guardCategories, guardPrompt, type GuardCategory, type GuardMessage, type GuardSafety, type GuardTarget } from "../chat/guard.js";
import type { Model, Sequence } from "../models/model.js";
import type { Tokenizer } from "../tokenizer/index.js";
import { QwenrtError } from "../util/errors.js";

/** Options of `moderate`. */
export interface ModerateOptions {
  /** For a response: also score `Refusal: Yes|No` (one more forward). Default false. */
  readonly refusal?: boolean;
  /** Checked between forward steps. */
  readonly signal?: AbortSignal;
}

/** The guard's verdict on the last message of a conversation. */
export interface GuardVerdict {
  readonly target: GuardTarget;
  readonly safety: GuardSafety;
  /** The three verdicts' probabilities (softmax over their tokens' logits). */
  readonly probabilities: Readonly<Record<GuardSafety, number>>;
  /** Empty when safe. */
  readonly categories: GuardCategory[];
  /** Response checks with `refusal: true` only. */
  readonly refusal?: boolean;
  /** Tokens of the guard prompt. */
  readonly promptTokens: number;
}

const enc = (tokenizer: Tokenizer, s: string): number[] => tokenizer.encode(s, { addSpecialTokens: false });

/** The first token of `" " + label` for each label; they must differ. */
function labelTokens(tokenizer: Tokenizer, labels: readonly string[]): number[] {
  const ids = labels.map((l) => enc(tokenizer, ` ${l}`)[0]!);
  if (new Set(ids).size !== ids.length) throw new QwenrtError("tokenizer", `the labels ${labels.join("/")} share a first token: not a Qwen3 tokenizer`);
  return ids;
}

function softmaxAt(logits: Float32Array, ids: readonly number[]): number[] {
  const z = ids.map((id) => logits[id]!);
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

function argmaxOf(logits: Float32Array, ids: Iterable<number>): number {
  let best = -1;
  for (const id of ids) if (best < 0 || logits[id]! > logits[best]!) best = id;
  return best;
}

/**
 * Decode the category names after `Categories:` greedily, allowing only tokens that continue a
 * category name (each at most once), `,` between names, and a line end after one. `logits` are
 * the next-token logits after `Categories:`.
 */
async function decodeCategories(model: Model, tokenizer: Tokenizer, seq: Sequence, first: Float32Array, target: GuardTarget, signal?: AbortSignal): Promise<GuardCategory[]> {
  const names = guardCategories(target);
  const seqs = names.map((n) => enc(tokenizer, ` ${n}`));
  const comma = enc(tokenizer, ",");
  const ends = [...enc(tokenizer, "\n"), tokenizer.tokenToId("<|im_end|>")].filter((x): x is number => x !== undefined);
  if (comma.length !== 1) throw new QwenrtError("tokenizer", '"," is not one token: not a Qwen3 tokenizer');
  const chosen: GuardCategory[] = [];
  let logits = first;
  let partial: number[] = [];
  const step = async (id: number): Promise<void> => {
    signal?.throwIfAborted();
    [logits] = (await model.forwardAsync([{ seq, ids: Int32Array.of(id) }])) as [Float32Array];
  };
  for (;;) {
    // Inside or at the start of a name: the next token of every name still matching `partial`.
    const open = names.map((_, i) => i).filter((i) => !chosen.includes(names[i]!) && partial.every((t, k) => seqs[i]![k] === t) && seqs[i]!.length > partial.length);
    if (open.length === 0) break; // every category named
    const id = argmaxOf(logits, new Set(open.map((i) => seqs[i]![partial.length]!)));
    partial.push(id);
    const done = open.find((i) => seqs[i]!.length === partial.length && seqs[i]!.every((t, k) => t === partial[k]));
    await step(id);
    if (done === undefined) continue;
    chosen.push(names[done]!);
    partial = [];
    const more = chosen.length < names.length;
    const next = argmaxOf(logits, more ? [...ends, comma[0]!] : ends);
    if (next !== comma[0]) break;
    await step(next);
  }
  return chosen;
}

/**
 * Judge the last message of `messages` with a Qwen3Guard-Gen model: a user message as a prompt,
 * an assistant message as a response to the conversation before it.
 *
 * @example
 * const v = await moderate(guard, tokenizer, [{ role: "user", content: "How can I make a bomb?" }]);
 * v.safety; // "Unsafe"; v.categories: ["Violent"]
 */
export async function moderate(model: Model, tokenizer: Tokenizer, messages: readonly GuardMessage[], opts: ModerateOptions = {}): Promise<GuardVerdict> {
  const { text, target } = guardPrompt(messages);
  const ids = enc(tokenizer, `${text}Safety:`);
  if (ids.length > model.contextLength) throw new QwenrtError("messages", `the guard prompt has ${ids.length} tokens, more than the guard's ${model.contextLength} positions`, { code: "context_length_exceeded" });
  const verdictIds = labelTokens(tokenizer, GUARD_VERDICTS);
  const seq = model.newSequence(ids.length + 64);
  try {
    const [logits] = (await model.forwardAsync([{ seq, ids: Int32Array.from(ids) }])) as [Float32Array];
    const p = softmaxAt(logits, verdictIds);
    const best = p.indexOf(Math.max(...p));
    const safety = GUARD_VERDICTS[best]!;
    const probabilities = { Safe: p[0]!, Unsafe: p[1]!, Controversial: p[2]! };
    const base = { target, safety, probabilities, promptTokens: ids.length };
    const wantRefusal = target === "response" && opts.refusal === true;
    if (safety === "Safe" && !wantRefusal) return { ...base, categories: [] };
    let categories: GuardCategory[] = [];
    if (safety === "Safe") {
      await model.forwardAsync([{ seq, ids: Int32Array.from(enc(tokenizer, " Safe\nCategories: None")) }]);
    } else {
      opts.signal?.throwIfAborted();
      const [after] = (await model.forwardAsync([{ seq, ids: Int32Array.from(enc(tokenizer, ` ${safety}\nCategories:`)) }])) as [Float32Array];
      categories = await decodeCategories(model, tokenizer, seq, after, target, opts.signal);
    }
    if (!wantRefusal) return { ...base, categories };
    // Whatever ended the category line, the refusal line follows it.
    const [r] = (await model.forwardAsync([{ seq, ids: Int32Array.from(enc(tokenizer, "\nRefusal:")) }])) as [Float32Array];
    const [yes] = softmaxAt(r, labelTokens(tokenizer, ["Yes", "No"]));
    return { ...base, categories, refusal: yes! > 0.5 };
  } finally {
    model.release(seq);
  }
}
