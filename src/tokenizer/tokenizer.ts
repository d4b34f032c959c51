/**
 * The byte-level BPE tokenizer: added tokens → normalizer → pre-tokenizer → BPE, and byte-level
 * decoding. Reproduces Hugging Face `tokenizers` ids exactly for `tokenizer.json` files of the
 * byte-level BPE family (Qwen2/Qwen3, GPT-2-style).
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import { QwenrtError } from "../util/errors.js";
import { readJsonFile } from "../util/json.js";
import { AddedTokenMatcher, type Segment } from "./added.js";
import { BytePairModel } from "./bpe.js";
import { byteLevelTokenBytes, toWellFormed } from "./bytelevel.js";
import { specFromHfJson } from "./load.js";
import { buildPreTokenizer, type PreTokenize } from "./pretokenize.js";
import type { NormalizerStep, TokenizerSpec } from "./spec.js";

/** Options for `Tokenizer.encode`. */
export interface EncodeOptions {
  /** Add the post-processor's special tokens (none for Qwen). Default true, as in `tokenizers`. */
  addSpecialTokens?: boolean;
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
  private readonly rawMatcher: AddedTokenMatcher; // added tokens matched before normalization
  private readonly normalizedMatcher: AddedTokenMatcher; // added tokens matched after it
  private readonly prefixIds: readonly number[];
  private readonly suffixIds: readonly number[];
  private readonly idToTokenTable: Array<string | undefined>; // [vocabSize]
  private readonly vocab: ReadonlyMap<string, number>;
  private readonly addedIds = new Map<string, number>(); // added-token content → id
  private readonly specialIds: Uint8Array; // [vocabSize] 1 where the id is a special added token
  private readonly bytesCache: Array<Uint8Array | undefined>; // [vocabSize] decoded bytes, filled lazily

  /** Build from a spec (see `TokenizerSpec`); `where` names the source in errors. */
  constructor(spec: TokenizerSpec, where = "tokenizer") {
    this.bpe = new BytePairModel(spec, where);
    this.normalizeSteps = spec.normalizer;
    this.preTokenize = buildPreTokenizer(spec.preTokenizer, where);
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
    const wellFormed = toWellFormed(text);
    for (const seg of this.rawMatcher.split(wellFormed)) {
      if (seg.id !== undefined) {
        ids.push(seg.id);
        continue;
      }
      const normalized = this.normalize(seg.text);
      const pieces: Segment[] = this.normalizedMatcher.size === 0 ? [{ text: normalized }] : this.normalizedMatcher.split(normalized);
      for (const piece of pieces) {
        if (piece.id !== undefined) ids.push(piece.id);
        else this.preTokenize(piece.text, (p) => this.bpe.encodeTo(p, ids));
      }
    }
    if (addSpecial) ids.push(...this.suffixIds);
    return ids;
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

  private normalize(text: string): string {
    let s = text;
    for (const step of this.normalizeSteps) s = step === "Lowercase" ? s.toLowerCase() : s.normalize(step);
    return s;
  }
}
