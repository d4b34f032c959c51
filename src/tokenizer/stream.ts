/**
 * Streaming detokenizer for generation: feed ids one at a time and get back only text whose UTF-8 is
 * complete, so a character split across tokens (emoji, CJK) never shows up as U+FFFD mid-stream. The
 * concatenated deltas plus `flush()` equal `tokenizer.decode(ids)`.
 */
import type { Tokenizer } from "./tokenizer.js";

/**
 * @example
 * const stream = new StreamDetokenizer(tok, { skipSpecialTokens: true });
 * for (const id of ids) process.stdout.write(stream.push(id));
 * process.stdout.write(stream.flush());
 */
export class StreamDetokenizer {
  private readonly tokenizer: Tokenizer;
  private readonly skipSpecialTokens: boolean;
  // A streaming WHATWG decoder holds back an incomplete trailing sequence and replaces invalid bytes
  // exactly as a one-shot decode would (maximal subparts), so deltas concatenate to the full decode.
  private decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  private text = "";

  constructor(tokenizer: Tokenizer, options: { skipSpecialTokens?: boolean } = {}) {
    this.tokenizer = tokenizer;
    this.skipSpecialTokens = options.skipSpecialTokens ?? false;
  }

  /** Add one token; returns the newly completed text (possibly ""). */
  push(id: number): string {
    const bytes = this.tokenizer.tokenBytes(id, this.skipSpecialTokens);
    if (bytes === undefined || bytes.length === 0) return "";
    const delta = this.decoder.decode(bytes, { stream: true });
    this.text += delta;
    return delta;
  }

  /** Add several tokens; returns the newly completed text. */
  pushAll(ids: Iterable<number>): string {
    let out = "";
    for (const id of ids) out += this.push(id);
    return out;
  }

  /**
   * End of stream: returns what was held back (an incomplete UTF-8 tail becomes U+FFFD, as in the full
   * decode) and resets for reuse.
   */
  flush(): string {
    const rest = this.decoder.decode();
    this.decoder = new TextDecoder("utf-8", { ignoreBOM: true });
    this.text = "";
    return rest;
  }

  /** All text emitted since the last `flush()`. */
  get emitted(): string {
    return this.text;
  }
}
