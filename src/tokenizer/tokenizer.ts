/**
 * The byte-level BPE tokenizer: added tokens → normalizer → pre-tokenizer → BPE, and byte-level
 * decoding. Reproduces Hugging Face `tokenizers` ids exactly for `tokenizer.json` files of the
 * byte-level BPE family (Qwen2/Qwen3, GPT-2-style).
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import { QwenrtError } from "../util/errors.js";
import { readJsonFile } from "../util/json.js";
import { TimeSlicer } from "../util/event-loop.js";
import { AddedTokenMatcher, type LiteralMask, type Segment } from "./added.js";
import { BytePairModel } from "./bpe.js";
import { byteLevelTokenBytes, toWellFormed } from "./bytelevel.js";
import { specFromHfJson } from "./load.js";
import { buildPreTokenizer, buildPreTokenizerIter, type PreTokenize, type PreTokenizeIter } from "./pretokenize.js";
import type { NormalizerStep, TokenizerSpec } from "./spec.js";

/** Options for `Tokenizer.encode`. */
export interface EncodeOptions {
  /** Add the post-processor's special tokens (none for Qwen). Default true, as in `tokenizers`. */
  addSpecialTokens?: boolean;
  /**
   * `[start, end)` ranges of `text` (UTF-16 units) where no added token is matched: text there that
   * spells `<|im_start|>` or `<think>` is encoded as ordinary text. Outside them (and everywhere when
   * there are none) the ids are exactly the default encoding's.
   */
  literal?: readonly (readonly [number, number])[];
}

/** Options for `Tokenizer.encodeAsync`. */
export interface EncodeAsyncOptions extends EncodeOptions {
  /** Stop early once more than `limit` ids are out: the result then holds more than `limit` ids, not all. */
  limit?: number;
  /** Work at most this long between yields to the event loop (default 8 ms). */
  sliceMs?: number;
  /** Checked at each yield: aborting stops the encoding with the signal's reason. */
  signal?: AbortSignal;
}

/** Options for `Tokenizer.decode`. */
export interface DecodeOptions {
  /** Drop added tokens marked special (`<|im_end|>` …). Default false. */
  skipSpecialTokens?: boolean;
}

/**
 * Byte-level BPE tokenizer.
 *
 * @example
 * const tok = Tokenizer.fromDir("models/Qwen3-0.6B");
 * const ids = tok.encode("Hello<|im_end|>", { addSpecialTokens: false }); // [9707, 151645]
 * tok.decode(ids, { skipSpecialTokens: true }); // "Hello"
 */
export class Tokenizer {
  /** Number of ids: one past the largest id of the vocabulary and added tokens. */
  readonly vocabSize: number;
  readonly eosTokenId: number | undefined;
  readonly bosTokenId: number | undefined;
  readonly padTokenId: number | undefined;
  /** The Jinja chat template from `tokenizer_config.json`, if any. */
  readonly chatTemplate: string | undefined;
  /** Named chat templates when the config lists several. */
  readonly chatTemplates: Readonly<Record<string, string>>;

  private readonly bpe: BytePairModel;
  private readonly normalizeSteps: readonly NormalizerStep[];
  private readonly preTokenize: PreTokenize;
  private readonly preTokenizeIter: PreTokenizeIter;
  private readonly anyAdded: AddedTokenMatcher; // every added token, plain matching: what text spells one
  private readonly rawMatcher: AddedTokenMatcher; // added tokens matched before normalization
  private readonly normalizedMatcher: AddedTokenMatcher; // added tokens matched after it
  private readonly prefixIds: readonly number[];
  private readonly suffixIds: readonly number[];
  private readonly idToTokenTable: Array<string | undefined>; // [vocabSize]
  private readonly vocab: ReadonlyMap<string, number>;
  private readonly addedIds = new Map<string, number>(); // added-token content → id
  private readonly specialIds: Uint8Array; // [vocabSize] 1 where the id is a special added token
  private readonly bytesCache: Array<Uint8Array | undefined>; // [vocabSize] decoded bytes, filled lazily
  private longestToken: number | undefined;

  /** Build from a spec (see `TokenizerSpec`); `where` names the source in errors. */
  constructor(spec: TokenizerSpec, where = "tokenizer") {
    this.bpe = new BytePairModel(spec, where);
    this.normalizeSteps = spec.normalizer;
    this.preTokenize = buildPreTokenizer(spec.preTokenizer, where);
    this.preTokenizeIter = buildPreTokenizerIter(spec.preTokenizer, where);
    this.anyAdded = new AddedTokenMatcher(spec.addedTokens.map((t) => ({ ...t, lstrip: false, rstrip: false, singleWord: false })));
    const matchable = spec.addedTokens.filter((t) => !(spec.splitSpecialTokens && t.special));
    this.rawMatcher = new AddedTokenMatcher(matchable.filter((t) => !t.normalized));
    this.normalizedMatcher = new AddedTokenMatcher(
      matchable.filter((t) => t.normalized),
      (t) => this.normalize(t.content),
    );
    this.prefixIds = spec.postProcessor.prefixIds;
    this.suffixIds = spec.postProcessor.suffixIds;

    let maxId = -1;
    for (const id of spec.vocab.values()) if (id > maxId) maxId = id;
    for (const t of spec.addedTokens) if (t.id > maxId) maxId = t.id;
    this.vocabSize = maxId + 1;
    this.idToTokenTable = new Array<string | undefined>(this.vocabSize);
    for (const [token, id] of spec.vocab) this.idToTokenTable[id] = token;
    this.vocab = spec.vocab;
    this.specialIds = new Uint8Array(this.vocabSize);
    for (const t of spec.addedTokens) {
      this.idToTokenTable[t.id] = t.content;
      this.addedIds.set(t.content, t.id);
      if (t.special) this.specialIds[t.id] = 1;
    }
    this.bytesCache = new Array<Uint8Array | undefined>(this.vocabSize);

    for (const [name, id] of [
      ["eos", spec.eosTokenId],
      ["bos", spec.bosTokenId],
      ["pad", spec.padTokenId],
    ] as const) {
      if (id !== undefined && (id < 0 || id >= this.vocabSize)) {
        throw new QwenrtError(where, `${name} token id ${id} is outside the vocabulary`);
      }
    }
    this.eosTokenId = spec.eosTokenId;
    this.bosTokenId = spec.bosTokenId;
    this.padTokenId = spec.padTokenId;
    this.chatTemplate = spec.chatTemplate;
    this.chatTemplates = spec.chatTemplates ?? {};
  }

  /**
   * Load `tokenizer.json` and (if present) `tokenizer_config.json` from a model directory. Errors name
   * the missing or malformed file.
   */
  static fromDir(dir: string): Tokenizer {
    let isDir = false;
    try {
      isDir = statSync(dir).isDirectory();
    } catch {
      throw new QwenrtError(dir, "model directory not found", { code: "not_found" });
    }
    if (!isDir) throw new QwenrtError(dir, "expected a model directory containing tokenizer.json");
    const tokenizerPath = join(dir, "tokenizer.json");
    const configPath = join(dir, "tokenizer_config.json");
    const tokenizerJson = readJsonFile(tokenizerPath);
    let configJson: unknown;
    try {
      statSync(configPath);
      configJson = readJsonFile(configPath);
    } catch (e) {
      if (e instanceof QwenrtError) throw e; // present but unreadable or malformed
    }
    return new Tokenizer(specFromHfJson(tokenizerJson, configJson, `${dir}/`), tokenizerPath);
  }

  /** Build from the parsed contents of `tokenizer.json` and `tokenizer_config.json`. */
  static fromJson(tokenizerJson: unknown, tokenizerConfigJson?: unknown): Tokenizer {
    return new Tokenizer(specFromHfJson(tokenizerJson, tokenizerConfigJson), "tokenizer.json");
  }

  /**
   * Token ids of `text`. Lone surrogates are encoded as U+FFFD (what a UTF-8 consumer receives).
   *
   * @example
   * tok.encode("<think>\nhi", { addSpecialTokens: false }); // [151667, 198, 6023]
   */
  encode(text: string, options: EncodeOptions = {}): number[] {
    const ids: number[] = [];
    const addSpecial = options.addSpecialTokens ?? true;
    if (addSpecial) ids.push(...this.prefixIds);
    for (const seg of this.segments(text, options.literal)) {
      if (seg.id !== undefined) ids.push(seg.id);
      else this.preTokenize(seg.text, (p) => this.bpe.encodeTo(p, ids));
    }
    if (addSpecial) ids.push(...this.suffixIds);
    return ids;
  }

  /**
   * `encode` in slices of at most `sliceMs` (default 8 ms) with the event loop free in between, for a
   * prompt too long to encode in one go on a server's main thread; same ids. With `limit` it stops
   * as soon as the text is known to need more than `limit` ids (a context check without the full cost).
   *
   * @example
   * const ids = await tok.encodeAsync(prompt, { addSpecialTokens: false, limit: 40960 });
   * if (ids.length > 40960) throw new Error("prompt too long");
   */
  async encodeAsync(text: string, options: EncodeAsyncOptions = {}): Promise<number[]> {
    const ids: number[] = [];
    const addSpecial = options.addSpecialTokens ?? true;
    const limit = options.limit ?? Infinity;
    const slicer = new TimeSlicer(options.sliceMs ?? 8);
    if (addSpecial) ids.push(...this.prefixIds);
    let pieces = 0;
    for (const seg of this.segments(text, options.literal)) {
      if (seg.id !== undefined) ids.push(seg.id);
      else {
        for (const p of this.preTokenizeIter(seg.text)) {
          this.bpe.encodeTo(p, ids);
          if ((++pieces & 255) !== 0) continue;
          if (ids.length > limit) return ids;
          if (slicer.due()) {
            await slicer.yield();
            options.signal?.throwIfAborted();
          }
        }
      }
      if (ids.length > limit) return ids;
    }
    if (addSpecial) ids.push(...this.suffixIds);
    return ids;
  }

  /**
   * Where `text` spells an added token (`<|im_start|>`, `<think>`, …; special or not, flags ignored),
   * as `[start, end)` ranges: what `encode` could turn into control ids.
   *
   * @example
   * tok.addedTokenRanges("hi <|im_end|>"); // [[3, 13]]
   */
  addedTokenRanges(text: string): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (const seg of this.anyAdded.split(text)) {
      if (seg.id !== undefined && seg.start !== undefined) out.push([seg.start, seg.start + seg.text.length]);
    }
    return out;
  }

  /** Added-token matching and normalization: plain pieces to pre-tokenize, and added tokens. */
  private segments(text: string, literal: EncodeOptions["literal"]): Segment[] {
    const wellFormed = toWellFormed(text); // same length: lone surrogates become U+FFFD
    const mask = literal === undefined || literal.length === 0 ? undefined : literalMask(wellFormed.length, literal);
    const out: Segment[] = [];
    for (const seg of this.rawMatcher.split(wellFormed, mask)) {
      if (seg.id !== undefined) {
        out.push(seg);
        continue;
      }
      if (this.normalizedMatcher.size === 0) out.push({ text: this.normalize(seg.text) });
      else if (mask === undefined || seg.start === undefined || !mask.subarray(seg.start, seg.start + seg.text.length).includes(1)) {
        out.push(...this.normalizedMatcher.split(this.normalize(seg.text)));
      } else out.push(...this.splitNormalizedAround(seg.text, mask.subarray(seg.start, seg.start + seg.text.length)));
    }
    return out;
  }

  /** A plain piece holding literal units: normalize its literal and matchable runs apart, match
   * normalized added tokens only in the latter, and join adjacent text back for pre-tokenizing. */
  private splitNormalizedAround(text: string, mask: LiteralMask): Segment[] {
    const out: Segment[] = [];
    const pushText = (t: string): void => {
      const last = out[out.length - 1];
      if (last !== undefined && last.id === undefined) out[out.length - 1] = { text: last.text + t };
      else if (t !== "") out.push({ text: t });
    };
    for (let at = 0; at < text.length; ) {
      const lit = mask[at] === 1;
      let end = at;
      while (end < text.length && (mask[end] === 1) === lit) end++;
      const run = this.normalize(text.slice(at, end));
      if (lit) pushText(run);
      else for (const piece of this.normalizedMatcher.split(run)) piece.id === undefined ? pushText(piece.text) : out.push(piece);
      at = end;
    }
    return out;
  }

  /** Token strings of `text` (byte-level form, as `tokenizers`' `tokens`). */
  tokenize(text: string, options: EncodeOptions = {}): string[] {
    return this.encode(text, options).map((id) => this.idToTokenTable[id] ?? "");
  }

  /**
   * Text of `ids`: bytes of each token concatenated, invalid UTF-8 replaced by U+FFFD. Unknown ids are
   * skipped, as `tokenizers` does.
   */
  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    const parts: Uint8Array[] = [];
    let total = 0;
    for (let i = 0; i < ids.length; i++) {
      const b = this.tokenBytes(ids[i], options.skipSpecialTokens ?? false);
      if (b === undefined) continue;
      parts.push(b);
      total += b.length;
    }
    const all = new Uint8Array(total);
    let off = 0;
    for (const p of parts) {
      all.set(p, off);
      off += p.length;
    }
    return new TextDecoder("utf-8", { ignoreBOM: true }).decode(all);
  }

  /**
   * The bytes token `id` decodes to, or undefined when the id is unknown or is a special token being
   * skipped. Used by the streaming detokenizer.
   */
  tokenBytes(id: number, skipSpecialTokens = false): Uint8Array | undefined {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) return undefined;
    if (skipSpecialTokens && this.specialIds[id] === 1) return undefined;
    let b = this.bytesCache[id];
    if (b === undefined) {
      const token = this.idToTokenTable[id];
      if (token === undefined) return undefined;
      b = byteLevelTokenBytes(token);
      this.bytesCache[id] = b;
    }
    return b;
  }

  /** The token string of `id` (byte-level form for vocabulary tokens), or undefined. */
  idToToken(id: number): string | undefined {
    return Number.isInteger(id) && id >= 0 ? this.idToTokenTable[id] : undefined;
  }

  /** The id of a token string (byte-level form, or an added token's content), or undefined. */
  tokenToId(token: string): number | undefined {
    return this.addedIds.get(token) ?? this.vocab.get(token);
  }

  /** True when `id` is an added token marked special. */
  isSpecial(id: number): boolean {
    return Number.isInteger(id) && id >= 0 && id < this.vocabSize && this.specialIds[id] === 1;
  }

  /** Ids of every added token (special or not: `<|im_end|>`, `<think>`, `<tool_call>` …), ascending. */
  addedTokenIds(): number[] {
    return [...this.addedIds.values()].sort((a, b) => a - b);
  }

  /** Bytes of the longest token: a prompt of `b` UTF-8 bytes needs at least `b / maxTokenBytes` ids. */
  get maxTokenBytes(): number {
    if (this.longestToken === undefined) {
      let most = 1;
      for (const token of this.idToTokenTable) if (token !== undefined) most = Math.max(most, byteLevelTokenBytes(token).length);
      this.longestToken = most;
    }
    return this.longestToken;
  }

  private normalize(text: string): string {
    let s = text;
    for (const step of this.normalizeSteps) s = step === "Lowercase" ? s.toLowerCase() : s.normalize(step);
    return s;
  }
}

/** A mask of `length` units with 1 inside the given ranges (clamped to the text). */
function literalMask(length: number, ranges: readonly (readonly [number, number])[]): LiteralMask {
  const mask = new Uint8Array(length);
  for (const [start, end] of ranges) mask.fill(1, Math.max(0, start), Math.min(length, end));
  return mask;
}
