// The vocabulary as constrained decoding sees it: bytes per token id, a prefix trie over them (in
// preorder, so a walk can skip a rejected subtree with one jump), and the "pure string" tokens —
// those that can sit inside any JSON string without ending it or breaking an escape / UTF-8 char.
import { QwenrtError } from "../../util/errors.js";
import { isObject } from "../../util/json.js";
import { utf8Lead } from "./utf8.js";

/** What a tokenizer provides to build masks. */
export interface VocabInput {
  /** Bytes of each token id after byte-level decoding; a string is taken as its UTF-8 bytes. */
  readonly tokenStrings: readonly (Uint8Array | string)[];
  /** Added / control tokens (`<tool_call>`, `<|im_end|>`…): atomic, never matched as text. */
  readonly specialIds: readonly number[];
  /** End-of-sequence ids (Qwen3: `<|im_end|>`, `<|endoftext|>`), allowed only on a complete match. */
  readonly eosIds: readonly number[];
  /** Number of logits the model produces (Qwen3: 151936); ids past `tokenStrings` are always masked. */
  readonly vocabSize?: number;
}

/** A prefix trie in preorder: node 0 is the root; `end[i]` is one past the last node of i's subtree. */
export interface Trie {
  readonly count: number;
  readonly byte: Uint8Array; // [count]
  readonly depth: Uint16Array; // [count]
  readonly end: Int32Array; // [count]
  readonly tokOff: Int32Array; // [count + 1] CSR offsets into tokIds
  readonly tokIds: Int32Array; // token ids ending at each node
}

/** A vocabulary prepared once per model and shared by every constraint. */
export interface PreparedVocab {
  readonly size: number;
  readonly words: number; // bitset words: ceil(size / 32)
  readonly tokenBytes: readonly Uint8Array[];
  readonly specialIds: readonly number[];
  readonly specialByText: ReadonlyMap<string, number>;
  readonly eosIds: readonly number[];
  readonly isSpecial: Uint8Array; // [size]
  readonly full: Trie; // all non-special tokens
  readonly quote: Trie; // tokens containing `"` (only these can end a string)
  readonly noQuote: Trie; // tokens without `"`
  readonly impureNoQuote: Trie; // tokens without `"` that are not pure string content
  readonly maxNoQuoteBytes: number; // longest token without `"`: a string with more room than this is unbounded for one token
  readonly maxTokenBytes: number; // longest token (trie depth)
  /** String-interior masks by escape / UTF-8 / room state, shared by every grammar (see mask.ts). */
  readonly interiorCache: Map<string, Uint32Array>;
  readonly pureAll: Uint32Array; // bitset of pure tokens
  readonly pureByLen: Int32Array; // pure ids sorted by code-point count
  readonly pureLenStart: Int32Array; // pureByLen index of the first id with > k code points, k = 0..maxPureLen
  readonly maxPureLen: number;
}

const utf8 = new TextEncoder();
const utf8Dec = new TextDecoder();

/**
 * Build tries and token classes for a vocabulary (≈0.5 s for Qwen3; do it once per model).
 *
 * @example
 * const vocab = prepareVocab({ tokenStrings, specialIds: [151643, 151657], eosIds: [151645, 151643] });
 */
export function prepareVocab(input: VocabInput): PreparedVocab {
  const n = input.tokenStrings.length;
  const size = input.vocabSize ?? n;
  if (size < n) throw new QwenrtError("vocabSize", `must be >= the number of token strings (${n}), got ${size}`);
  const tokenBytes = input.tokenStrings.map((t) => (typeof t === "string" ? utf8.encode(t) : t));
  const isSpecial = new Uint8Array(size);
  const specialByText = new Map<string, number>();
  for (const id of [...input.specialIds, ...input.eosIds]) {
    if (!Number.isInteger(id) || id < 0 || id >= n) throw new QwenrtError("specialIds", `token id ${id} is out of range`);
    if (isSpecial[id] === 0) specialByText.set(utf8Dec.decode(tokenBytes[id]), id);
    isSpecial[id] = 1;
  }
  const plain: number[] = [];
  const quote: number[] = [];
  const noQuote: number[] = [];
  const impureNoQuote: number[] = [];
  const pure: number[] = [];
  const cps = new Int32Array(n);
  let maxNoQuoteBytes = 0;
  for (let id = 0; id < n; id++) {
    const bytes = tokenBytes[id];
    if (isSpecial[id] === 1 || bytes.length === 0) continue;
    plain.push(id);
    if (bytes.includes(0x22)) {
      quote.push(id);
      continue;
    }
    noQuote.push(id);
    maxNoQuoteBytes = Math.max(maxNoQuoteBytes, bytes.length);
    const cp = pureLength(bytes);
    if (cp < 0) impureNoQuote.push(id);
    else {
      pure.push(id);
      cps[id] = cp;
    }
  }
  const words = Math.ceil(size / 32);
  const pureAll = new Uint32Array(words);
  for (const id of pure) pureAll[id >>> 5] |= 1 << (id & 31);
  const pureByLen = Int32Array.from(pure).sort((a, b) => cps[a] - cps[b] || a - b);
  const maxPureLen = pure.length === 0 ? 0 : cps[pureByLen[pureByLen.length - 1]];
  const pureLenStart = new Int32Array(maxPureLen + 1);
  for (let k = 0, j = 0; k <= maxPureLen; k++) {
    while (j < pureByLen.length && cps[pureByLen[j]] <= k) j++;
    pureLenStart[k] = j;
  }
  return {
    size,
    words,
    tokenBytes,
    specialIds: [...new Set(input.specialIds)].filter((id) => !input.eosIds.includes(id)),
    specialByText,
    eosIds: [...new Set(input.eosIds)],
    isSpecial,
    full: buildTrie(plain, tokenBytes),
    quote: buildTrie(quote, tokenBytes),
    noQuote: buildTrie(noQuote, tokenBytes),
    impureNoQuote: buildTrie(impureNoQuote, tokenBytes),
    maxNoQuoteBytes,
    maxTokenBytes: tokenBytes.reduce((m, b) => Math.max(m, b.length), 0),
    interiorCache: new Map(),
    pureAll,
    pureByLen,
    pureLenStart,
    maxPureLen,
  };
}

/** Code points of a token that fits anywhere inside a JSON string without ending it, else -1. */
function pureLength(bytes: Uint8Array): number {
  let cp = 0;
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i];
    if (b < 0x20 || b === 0x22 || b === 0x5c) return -1;
    if (b < 0x80) {
      i++;
    } else {
      // Valid complete UTF-8 character (same rules as the matcher: no overlongs or surrogates).
      const lead = utf8Lead(b);
      if (lead < 0) return -1;
      const need = lead === 1 ? 1 : lead <= 4 ? 2 : 3;
      if (i + need >= bytes.length) return -1;
      const lo = lead === 3 ? 0xa0 : lead === 6 ? 0x90 : 0x80;
      const hi = lead === 4 ? 0x9f : lead === 7 ? 0x8f : 0xbf;
      if (bytes[i + 1] < lo || bytes[i + 1] > hi) return -1;
      for (let k = 2; k <= need; k++) if (bytes[i + k] < 0x80 || bytes[i + k] > 0xbf) return -1;
      i += need + 1;
    }
    cp++;
  }
  return cp;
}

function buildTrie(ids: readonly number[], tokenBytes: readonly Uint8Array[]): Trie {
  // Sort by bytes: latin1 strings compare code unit by code unit, i.e. byte by byte.
  const keyed = ids.map((id) => ({ id, s: String.fromCharCode(...tokenBytes[id]) }));
  keyed.sort((a, b) => (a.s < b.s ? -1 : a.s > b.s ? 1 : a.id - b.id));
  let cap = 1;
  for (const { s } of keyed) cap += s.length;
  const byte = new Uint8Array(cap);
  const depth = new Uint16Array(cap);
  const end = new Int32Array(cap);
  const endsAt = new Int32Array(keyed.length);
  const path: number[] = [0]; // node index per depth
  let count = 1;
  let prev = "";
  keyed.forEach(({ s }, t) => {
    let lcp = 0;
    while (lcp < s.length && lcp < prev.length && s.charCodeAt(lcp) === prev.charCodeAt(lcp)) lcp++;
    while (path.length - 1 > lcp) end[path.pop() as number] = count;
    for (let d = lcp; d < s.length; d++) {
      byte[count] = s.charCodeAt(d);
      depth[count] = d + 1;
      path.push(count++);
    }
    endsAt[t] = path[s.length];
    prev = s;
  });
  while (path.length > 0) end[path.pop() as number] = count;
  const tokOff = new Int32Array(count + 1);
  for (const node of endsAt) tokOff[node + 1]++;
  for (let i = 0; i < count; i++) tokOff[i + 1] += tokOff[i];
  const fill = tokOff.slice(0, count);
  const tokIds = new Int32Array(keyed.length);
  keyed.forEach(({ id }, t) => {
    tokIds[fill[endsAt[t]]++] = id;
  });
  return { count, byte: byte.slice(0, count), depth: depth.slice(0, count), end: end.slice(0, count), tokOff, tokIds };
}

let byteDecoder: Map<string, number> | null = null;

/** GPT-2 byte-level table: the printable character standing for each byte → that byte. */
export function byteLevelDecoder(): ReadonlyMap<string, number> {
  if (byteDecoder !== null) return byteDecoder;
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const cs = [...bs];
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + extra++);
    }
  }
  byteDecoder = new Map(bs.map((b, i) => [String.fromCharCode(cs[i]), b]));
  return byteDecoder;
}

/**
 * Token bytes and added-token ids from a Hugging Face byte-level BPE `tokenizer.json`
 * (`model.vocab` + `added_tokens`), for use until a Tokenizer object provides them.
 *
 * @example
 * const { tokenStrings, specialIds } = vocabFromTokenizerJson(JSON.parse(readFileSync(path, "utf8")));
 */
export function vocabFromTokenizerJson(json: unknown): { tokenStrings: Uint8Array[]; specialIds: number[] } {
  const model = isObject(json) ? json.model : undefined;
  const vocab = isObject(model) ? model.vocab : undefined;
  const added = isObject(json) ? json.added_tokens : undefined;
  if (!isObject(vocab) || !Array.isArray(added)) throw new QwenrtError("tokenizer.json", 'expected "model.vocab" and "added_tokens"');
  const dec = byteLevelDecoder();
  const tokenStrings: Uint8Array[] = [];
  for (const [piece, id] of Object.entries(vocab)) {
    if (typeof id !== "number") throw new QwenrtError("tokenizer.json", `model.vocab[${JSON.stringify(piece)}] must be a number`);
    const bytes: number[] = [];
    for (const ch of piece) {
      const b = dec.get(ch);
      if (b === undefined) throw new QwenrtError("tokenizer.json", `model.vocab[${JSON.stringify(piece)}] is not byte-level encoded`);
      bytes.push(b);
    }
    tokenStrings[id] = Uint8Array.from(bytes);
  }
  const specialIds: number[] = [];
  for (const t of added) {
    if (!isObject(t) || typeof t.id !== "number" || typeof t.content !== "string") {
      throw new QwenrtError("tokenizer.json", "added_tokens entries need a numeric id and string content");
    }
    tokenStrings[t.id] = utf8.encode(t.content);
    specialIds.push(t.id);
  }
  for (let i = 0; i < tokenStrings.length; i++) tokenStrings[i] ??= new Uint8Array(0);
  return { tokenStrings, specialIds };
}
