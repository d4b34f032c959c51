/**
 * Finds added tokens (`<|im_start|>`, `<think>`, …) in text before BPE, with the semantics of
 * Hugging Face `tokenizers`' `AddedVocabulary`: leftmost-longest matches, then the `single_word`,
 * `lstrip` and `rstrip` rules applied to each match.
 */
import type { AddedTokenSpec } from "./spec.js";

/** A piece of text: `id` set when the piece is an added token, else plain text to tokenize further. */
export interface Segment {
  readonly text: string;
  readonly id?: number;
  /** Offset of the piece in the split text (UTF-16 units). */
  readonly start?: number;
}

/** Units of a text where no added token may match: 1 = literal (see `AddedTokenMatcher.split`). */
export type LiteralMask = Uint8Array; // [text.length]

interface TrieNode {
  children: Map<number, TrieNode>;
  token?: AddedTokenSpec;
}

// Rust regex (used by `tokenizers` for these checks): \w and \s are Unicode.
const WORD_CHAR = /[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]/u;
const SPACE_CHAR = /\p{White_Space}/u;

/**
 * Leftmost-longest matcher over a fixed set of added tokens.
 *
 * @example
 * const m = new AddedTokenMatcher([{ id: 7, content: "<s>", special: true, lstrip: false, rstrip: false, singleWord: false, normalized: false }]);
 * m.split("a<s>b"); // [{text:"a"}, {text:"<s>", id:7}, {text:"b"}]
 */
export class AddedTokenMatcher {
  private readonly root: TrieNode = { children: new Map() };
  private readonly firstUnits = new Set<number>();
  readonly size: number;

  /** `patterns` maps the string to match to its token (normalized content for normalized tokens). */
  constructor(tokens: readonly AddedTokenSpec[], patternOf: (t: AddedTokenSpec) => string = (t) => t.content) {
    let size = 0;
    for (const token of tokens) {
      const pattern = patternOf(token);
      if (pattern.length === 0) continue;
      let node = this.root;
      for (let i = 0; i < pattern.length; i++) {
        const unit = pattern.charCodeAt(i);
        let child = node.children.get(unit);
        if (child === undefined) {
          child = { children: new Map() };
          node.children.set(unit, child);
        }
        node = child;
      }
      // With duplicate patterns the first token listed wins, as aho-corasick keeps the first pattern.
      if (node.token === undefined) {
        node.token = token;
        size++;
      }
      this.firstUnits.add(pattern.charCodeAt(0));
    }
    this.size = size;
  }

  /**
   * Split `text` into plain pieces and added-token pieces; empty plain pieces are dropped. Where
   * `literal[i]` is 1 no match may start, cover or strip unit `i` (user content spelling
   * `<|im_start|>` stays text).
   */
  split(text: string, literal?: LiteralMask): Segment[] {
    if (this.size === 0 || text.length === 0) return text.length === 0 ? [] : [{ text, start: 0 }];
    const out: Segment[] = [];
    let startOffset = 0; // end of what has been emitted
    let pos = 0; // where the next match search starts
    while (pos < text.length) {
      const m = this.findLeftmostLongest(text, pos, literal);
      if (m === undefined) break;
      pos = m.end;
      let start = m.start;
      let stop = m.end;
      const token = m.token;
      if (token.singleWord) {
        const startSpace = start === 0 || !WORD_CHAR.test(lastChar(text, start));
        const stopSpace = stop === text.length || !WORD_CHAR.test(firstChar(text, stop));
        if (!startSpace || !stopSpace) continue;
      }
      if (token.lstrip) {
        let s = start;
        while (s > 0 && literal?.[s - 1] !== 1) {
          const c = lastChar(text, s);
          if (!SPACE_CHAR.test(c)) break;
          s -= c.length;
        }
        start = Math.max(s, startOffset);
      }
      if (token.rstrip) {
        while (stop < text.length && literal?.[stop] !== 1) {
          const c = firstChar(text, stop);
          if (!SPACE_CHAR.test(c)) break;
          stop += c.length;
        }
      }
      if (startOffset < start) out.push({ text: text.slice(startOffset, start), start: startOffset });
      out.push({ text: text.slice(start, stop), id: token.id, start });
      startOffset = stop;
    }
    if (startOffset < text.length) out.push({ text: text.slice(startOffset), start: startOffset });
    return out;
  }

  private findLeftmostLongest(
    text: string,
    from: number,
    literal: LiteralMask | undefined,
  ): { start: number; end: number; token: AddedTokenSpec } | undefined {
    for (let start = from; start < text.length; start++) {
      if (!this.firstUnits.has(text.charCodeAt(start))) continue;
      let node: TrieNode | undefined = this.root;
      let best: AddedTokenSpec | undefined;
      let bestEnd = start;
      for (let i = start; i < text.length; i++) {
        if (literal?.[i] === 1) break;
        node = node.children.get(text.charCodeAt(i));
        if (node === undefined) break;
        if (node.token !== undefined) {
          best = node.token;
          bestEnd = i + 1;
        }
      }
      if (best !== undefined) return { start, end: bestEnd, token: best };
    }
    return undefined;
  }
}

function lastChar(text: string, end: number): string {
  const c = text.charCodeAt(end - 1);
  return (c & 0xfc00) === 0xdc00 && end >= 2 && (text.charCodeAt(end - 2) & 0xfc00) === 0xd800
    ? text.slice(end - 2, end)
    : text.slice(end - 1, end);
}

function firstChar(text: string, start: number): string {
  return String.fromCodePoint(text.codePointAt(start) ?? 0);
}
