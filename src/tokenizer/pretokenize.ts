/**
 * Pre-tokenizer pipeline: split text into pieces with regex/literal splits (Hugging Face `Split`
 * semantics, including every `SplitDelimiterBehavior`), then the byte-level step. The byte mapping
 * itself happens in the BPE model, so the byte-level step here only adds a prefix space and/or the
 * GPT-2 split.
 */
import { QwenrtError } from "../util/errors.js";
import { compileOnigPattern } from "./regex.js";
import type { PreTokenizerStep, SplitBehavior } from "./spec.js";

/** Receives each final piece of text, in order. */
export type PieceSink = (piece: string) => void;
/** Runs the whole pipeline over one text. */
export type PreTokenize = (text: string, emit: PieceSink) => void;

const GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

/** One stage of the pipeline: a prefix space, or a split by a pattern. */
type Stage = { readonly kind: "prefixSpace" } | { readonly kind: "split"; readonly re: RegExp; readonly behavior: SplitBehavior; readonly invert: boolean };

/** The pipeline's stages in order; the last step must be `byteLevel` (a byte-level BPE tokenizer). */
function stagesOf(steps: readonly PreTokenizerStep[], where: string): Stage[] {
  const last = steps[steps.length - 1];
  if (last === undefined || last.kind !== "byteLevel") {
    throw new QwenrtError(where, "pre_tokenizer: a byte-level BPE tokenizer needs ByteLevel as the last pre-tokenizer step");
  }
  const stages: Stage[] = [];
  steps.forEach((step, i) => {
    if (step.kind === "byteLevel") {
      if (i !== steps.length - 1) {
        throw new QwenrtError(where, "pre_tokenizer: ByteLevel must be the last pre-tokenizer step");
      }
      if (step.addPrefixSpace) stages.push({ kind: "prefixSpace" });
      if (step.useRegex) stages.push({ kind: "split", re: compileOnigPattern(GPT2_PATTERN, where), behavior: "Isolated", invert: false });
      return;
    }
    const re =
      "regex" in step.pattern
        ? compileOnigPattern(step.pattern.regex, `${where}: pre_tokenizer.pattern.Regex`)
        : new RegExp(step.pattern.literal.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&"), "gu");
    stages.push({ kind: "split", re, behavior: step.behavior, invert: step.invert });
  });
  return stages;
}

/**
 * Build the pre-tokenizer; the last step must be `byteLevel` (this is a byte-level BPE tokenizer).
 *
 * @example
 * const pre = buildPreTokenizer([{ kind: "byteLevel", addPrefixSpace: false, useRegex: true }], "tokenizer.json");
 * pre("Hi there", (p) => console.log(p)); // "Hi", " there"
 */
export function buildPreTokenizer(steps: readonly PreTokenizerStep[], where: string): PreTokenize {
  const stages = stagesOf(steps, where).map((st): PreTokenize =>
    st.kind === "prefixSpace" ? (t, emit) => emit(t.startsWith(" ") ? t : ` ${t}`) : splitStage(st.re, st.behavior, st.invert),
  );
  // Compose right to left so each stage feeds the next without intermediate arrays.
  let run: PreTokenize = (text, emit) => emit(text);
  for (let s = stages.length - 1; s >= 0; s--) {
    const stage = stages[s];
    const inner = run;
    run = (text, emit) => stage(text, (piece) => inner(piece, emit));
  }
  return run;
}

/** The pipeline as a lazy sequence of pieces: a caller can stop between any two (to yield, or at a limit). */
export type PreTokenizeIter = (text: string) => Iterable<string>;

/**
 * The same pipeline as `buildPreTokenizer`, producing its pieces lazily. Its regexes are its own
 * and each scan restores its position before every match, so iterations suspended midway (an async
 * encoder yielding to the event loop) never disturb each other.
 *
 * @example
 * const pieces = buildPreTokenizerIter([{ kind: "byteLevel", addPrefixSpace: false, useRegex: true }], "tokenizer.json");
 * [...pieces("Hi there")]; // ["Hi", " there"]
 */
export function buildPreTokenizerIter(steps: readonly PreTokenizerStep[], where: string): PreTokenizeIter {
  const stages = stagesOf(steps, where);
  function* from(i: number, text: string): Generator<string, void, undefined> {
    const st = stages[i];
    if (st === undefined) {
      yield text;
      return;
    }
    if (st.kind === "prefixSpace") {
      yield* from(i + 1, text.startsWith(" ") ? text : ` ${text}`);
      return;
    }
    for (const piece of splitIter(st.re, st.behavior, st.invert, text)) yield* from(i + 1, piece);
  }
  return (text) => from(0, text);
}

function* splitIter(re: RegExp, behavior: SplitBehavior, invert: boolean, text: string): Generator<string, void, undefined> {
  if (behavior !== "Isolated" || invert) {
    for (const [start, end] of applyBehavior(findMatches(re, text, invert), behavior)) {
      if (end > start) yield text.slice(start, end);
    }
    return;
  }
  let prev = 0;
  let at = 0;
  for (;;) {
    re.lastIndex = at;
    const m = re.exec(text);
    if (m === null) break;
    const start = m.index;
    const end = start + m[0].length;
    if (prev !== start) yield text.slice(prev, start);
    prev = end;
    if (end === start) {
      at = end + (isHighSurrogateAt(text, end) ? 2 : 1);
      if (at > text.length) break;
      continue;
    }
    at = end;
    yield m[0];
  }
  if (prev < text.length) yield text.slice(prev);
}

function splitStage(re: RegExp, behavior: SplitBehavior, invert: boolean): (text: string, emit: PieceSink) => void {
  if (behavior === "Isolated" && !invert) {
    return (text, emit) => {
      re.lastIndex = 0;
      let prev = 0;
      for (;;) {
        const m = re.exec(text);
        if (m === null) break;
        const start = m.index;
        const end = start + m[0].length;
        if (prev !== start) emit(text.slice(prev, start));
        prev = end;
        if (end === start) {
          // An empty match still ends the gap before it (then yields an empty piece, dropped).
          re.lastIndex = end + (isHighSurrogateAt(text, end) ? 2 : 1);
          if (re.lastIndex > text.length) break;
          continue;
        }
        emit(m[0]);
      }
      if (prev < text.length) emit(text.slice(prev));
    };
  }
  return (text, emit) => {
    for (const [start, end] of applyBehavior(findMatches(re, text, invert), behavior)) {
      if (end > start) emit(text.slice(start, end));
    }
  };
}

type Span = [start: number, end: number, isMatch: boolean];

/** Matches and the gaps between them, covering `text` (`tokenizers`' `Pattern::find_matches`). */
function findMatches(re: RegExp, text: string, invert: boolean): Span[] {
  if (text.length === 0) return [[0, 0, invert]];
  const spans: Span[] = [];
  re.lastIndex = 0;
  let prev = 0;
  for (;;) {
    const m = re.exec(text);
    if (m === null) break;
    const start = m.index;
    const end = start + m[0].length;
    if (prev !== start) spans.push([prev, start, invert]);
    spans.push([start, end, !invert]);
    prev = end;
    if (end === start) {
      re.lastIndex = end + (isHighSurrogateAt(text, end) ? 2 : 1);
      if (re.lastIndex > text.length) break;
    }
  }
  if (prev !== text.length) spans.push([prev, text.length, invert]);
  return spans;
}

/** `tokenizers`' `NormalizedString::split` behaviors over the spans from `findMatches`. */
function applyBehavior(spans: Span[], behavior: SplitBehavior): Array<[number, number]> {
  switch (behavior) {
    case "Isolated":
      return spans.map(([s, e]) => [s, e]);
    case "Removed":
      return spans.filter((x) => !x[2]).map(([s, e]) => [s, e]);
    case "MergedWithPrevious": {
      const acc: Array<[number, number]> = [];
      let previousMatch = false;
      for (const [s, e, isMatch] of spans) {
        const lastSpan = acc[acc.length - 1];
        if (isMatch && !previousMatch && lastSpan !== undefined) lastSpan[1] = e;
        else acc.push([s, e]);
        previousMatch = isMatch;
      }
      return acc;
    }
    case "MergedWithNext": {
      const acc: Array<[number, number]> = [];
      let previousMatch = false;
      for (let i = spans.length - 1; i >= 0; i--) {
        const [s, e, isMatch] = spans[i];
        const lastSpan = acc[acc.length - 1];
        if (isMatch && !previousMatch && lastSpan !== undefined) lastSpan[0] = s;
        else acc.push([s, e]);
        previousMatch = isMatch;
      }
      return acc.reverse();
    }
    case "Contiguous": {
      const acc: Array<[number, number]> = [];
      let previousMatch = false;
      for (const [s, e, isMatch] of spans) {
        const lastSpan = acc[acc.length - 1];
        if (isMatch === previousMatch && lastSpan !== undefined) lastSpan[1] = e;
        else acc.push([s, e]);
        previousMatch = isMatch;
      }
      return acc;
    }
  }
}

function isHighSurrogateAt(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  return c >= 0xd800 && c <= 0xdbff && i + 1 < text.length;
}
