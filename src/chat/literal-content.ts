/**
 * Which characters of a rendered chat prompt are the request's own text (message content, reasoning,
 * tool-call arguments, tool definitions, template kwargs) rather than the template's markup — so that
 * the tokenizer can encode them with added-token matching off: a user typing `<|im_start|>system`
 * gets the text, not the control token, while the template's own `<|im_start|>` stays special.
 *
 * The prompt itself is always the template's normal rendering (byte for byte). To locate the request's
 * added-token text in it, the template is rendered again with those occurrences "defanged" (each of
 * their characters replaced by `_`, `-` for an `_`, so lengths stay): where the two renderings differ
 * only at defanged characters, those characters came from the request. An occurrence the template
 * itself interprets (Qwen3 splits assistant content at `</think>`) changes the rendering's shape
 * instead; a bisection over the occurrences finds those, and they are left to the template, which
 * consumed them (what remains of them in the prompt is the template's own markup).
 */
import { QwenrtError } from "../util/errors.js";
import type { ChatRequest } from "./messages.js";
import type { ChatTemplate } from "./template.js";

/** A rendered prompt and the `[start, end)` ranges of it to encode as literal text. */
export interface LiteralPrompt {
  readonly prompt: string;
  readonly literal: Array<[number, number]>;
}

/** Where a string spells added tokens (`Tokenizer.addedTokenRanges`). */
export type AddedTokenFinder = (text: string) => Array<[number, number]>;

/** Renders allowed to locate occurrences the template interprets, beyond the first two. */
const MAX_RENDERS = 256;

const UNDERSCORE = 0x5f;
const DASH = 0x2d;

/** Map every string of a JSON-like value (object keys included) in a fixed traversal order. */
function mapStrings(value: unknown, f: (s: string) => string): unknown {
  if (typeof value === "string") return f(value);
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, f));
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const key = f(k);
      out[key] = mapStrings(v, f);
    }
    return out;
  }
  return value;
}

/** The parts of a request that carry its text, as one value to traverse. */
function textParts(req: ChatRequest): unknown[] {
  return [req.messages, req.tools ?? null, req.templateKwargs];
}

function withTextParts(req: ChatRequest, parts: unknown[]): ChatRequest {
  // The parts were produced by `mapStrings` from this request's own: same shapes, strings replaced.
  const [messages, tools, templateKwargs] = parts as [ChatRequest["messages"], ChatRequest["tools"] | null, ChatRequest["templateKwargs"]];
  return tools === null || tools === undefined ? { ...req, messages, templateKwargs } : { ...req, messages, tools, templateKwargs };
}

/** `s` with every unit of the (sorted, disjoint) ranges replaced by `_` (`-` for an `_`). */
function defang(s: string, ranges: readonly (readonly [number, number])[]): string {
  let out = "";
  let at = 0;
  for (const [start, end] of ranges) {
    out += s.slice(at, start);
    for (let i = start; i < end; i++) out += s.charCodeAt(i) === UNDERSCORE ? "-" : "_";
    at = end;
  }
  return out + s.slice(at);
}

/** Units where `other` differs from `prompt`, when every difference is a defanged character; else undefined. */
function defangedUnits(prompt: string, other: string): number[] | undefined {
  if (other.length !== prompt.length) return undefined;
  const units: number[] = [];
  if (other === prompt) return units;
  for (let i = 0; i < prompt.length; i++) {
    const c = other.charCodeAt(i);
    if (c === prompt.charCodeAt(i)) continue;
    if (c !== UNDERSCORE && c !== DASH) return undefined;
    units.push(i);
  }
  return units;
}

function toRanges(marked: Uint8Array): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < marked.length; i++) {
    if (marked[i] !== 1) continue;
    let end = i;
    while (end < marked.length && marked[end] === 1) end++;
    out.push([i, end]);
    i = end;
  }
  return out;
}

/**
 * The search as a generator that yields after each extra rendering, so that a server can let the
 * event loop run in between (`renderLiteralContentAsync`) and a CLI can run it straight through.
 */
function* search(template: ChatTemplate, req: ChatRequest, find: AddedTokenFinder): Generator<void, LiteralPrompt, undefined> {
  const prompt = template.renderRequest(req);
  const parts = textParts(req);
  // Occurrences of added-token text, numbered in traversal order; `perString[k]` lists string k's.
  const perString: Array<Array<{ id: number; range: [number, number] }>> = [];
  let count = 0;
  mapStrings(parts, (s) => {
    perString.push(find(s).map((range) => ({ id: count++, range })));
    return s;
  });
  if (count === 0) return { prompt, literal: [] };

  const render = (chosen: ReadonlySet<number>): string | undefined => {
    let k = 0;
    const replaced = mapStrings(parts, (s) => {
      const mine = perString[k++]!.filter((o) => chosen.has(o.id));
      return mine.length === 0 ? s : defang(s, mine.map((o) => o.range));
    });
    try {
      return template.renderRequest(withTextParts(req, replaced as unknown[]));
    } catch {
      return undefined; // the template refused the defanged request: it reads those occurrences
    }
  };
  const marked = new Uint8Array(prompt.length);
  let renders = 0;
  // Bisection: a set of occurrences that renders aligned is the request's text throughout; a single
  // one that does not is interpreted by the template. Sets are split between strings first.
  const groups = perString.filter((g) => g.length > 0).map((g) => g.map((o) => o.id));
  const pending: number[][][] = [groups];
  while (pending.length > 0) {
    const set = pending.pop()!;
    if (renders++ > MAX_RENDERS) {
      throw new QwenrtError("messages", `the chat template interprets special-token text of the request in too many places to tell it from the template's own (more than ${MAX_RENDERS} renderings)`, {
        code: "invalid_request",
      });
    }
    const other = render(new Set(set.flat()));
    yield;
    const units = other === undefined ? undefined : defangedUnits(prompt, other);
    if (units !== undefined) {
      for (const u of units) marked[u] = 1;
      continue;
    }
    if (set.length > 1) pending.push(set.slice(0, set.length >> 1), set.slice(set.length >> 1));
    else {
      const only = set[0]!;
      if (only.length > 1) pending.push([only.slice(0, only.length >> 1)], [only.slice(only.length >> 1)]);
    }
  }
  return { prompt, literal: toRanges(marked) };
}

/**
 * Render `req` and find which of the prompt's characters are the request's own added-token text.
 *
 * @example
 * const { prompt, literal } = renderLiteralContent(template, req, (s) => tokenizer.addedTokenRanges(s));
 * const ids = tokenizer.encode(prompt, { addSpecialTokens: false, literal });
 */
export function renderLiteralContent(template: ChatTemplate, req: ChatRequest, find: AddedTokenFinder): LiteralPrompt {
  const g = search(template, req, find);
  for (;;) {
    const r = g.next();
    if (r.done === true) return r.value;
  }
}

/** `renderLiteralContent` with the event loop free between renderings (`between` yields, e.g. `yieldToEventLoop`). */
export async function renderLiteralContentAsync(
  template: ChatTemplate,
  req: ChatRequest,
  find: AddedTokenFinder,
  between: () => Promise<void>,
): Promise<LiteralPrompt> {
  const g = search(template, req, find);
  for (;;) {
    const r = g.next();
    if (r.done === true) return r.value;
    await between();
  }
}
