/**
 * GPT-2 byte-level alphabet: every byte 0..255 is shown as one printable Unicode character, so BPE
 * vocabularies can be stored as strings. Bytes that are already printable (`!`..`~`, `¡`..`¬`,
 * `®`..`ÿ`) map to themselves; the rest map to U+0100 upward, in byte order.
 */

/** Character (as UTF-16 code unit) for each byte. */
export const BYTE_TO_CHAR: readonly string[] = buildByteToChar(); // [256]

/** Byte for each byte-level character code (U+0000..U+0143), or -1 where the code is not in the alphabet. */
export const CHAR_CODE_TO_BYTE: Int16Array = buildCharToByte(); // [0x144]

function buildByteToChar(): string[] {
  const out = new Array<string>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    out[b] = String.fromCharCode(printable ? b : 256 + extra++);
  }
  return out;
}

function buildCharToByte(): Int16Array {
  const table = new Int16Array(0x144).fill(-1);
  for (let b = 0; b < 256; b++) table[BYTE_TO_CHAR[b].charCodeAt(0)] = b;
  return table;
}

/**
 * Bytes a token string stands for under the byte-level decoder: every character mapped back through
 * the alphabet, or — when any character is outside it (e.g. an added token containing a space) — the
 * token's own UTF-8, as Hugging Face `tokenizers` does.
 */
export function byteLevelTokenBytes(token: string): Uint8Array {
  const out = new Uint8Array(token.length);
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    const b = c < CHAR_CODE_TO_BYTE.length ? CHAR_CODE_TO_BYTE[c] : -1;
    if (b < 0) return utf8Bytes(token);
    out[i] = b;
  }
  return out;
}

/** Map raw bytes to their byte-level string (the form vocabulary keys use). */
export function bytesToByteLevel(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += BYTE_TO_CHAR[bytes[i]];
  return s;
}

const encoder = new TextEncoder();

/** UTF-8 of a JS string; lone surrogates become U+FFFD, as a Rust `&str` built from this text would hold. */
export function utf8Bytes(s: string): Uint8Array {
  return encoder.encode(s);
}

/**
 * Write the UTF-8 of `s` (assumed well-formed) into `out` starting at 0 and return the byte count.
 * `out` must hold at least `3 * s.length` bytes. Avoids allocating per pre-token on the hot path.
 */
export function writeUtf8(s: string, out: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      out[n++] = c;
    } else if (c < 0x800) {
      out[n++] = 0xc0 | (c >> 6);
      out[n++] = 0x80 | (c & 63);
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      c = 0x10000 + ((c - 0xd800) << 10) + (s.charCodeAt(++i) - 0xdc00);
      out[n++] = 0xf0 | (c >> 18);
      out[n++] = 0x80 | ((c >> 12) & 63);
      out[n++] = 0x80 | ((c >> 6) & 63);
      out[n++] = 0x80 | (c & 63);
    } else {
      if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd; // lone surrogate, as TextEncoder does
      out[n++] = 0xe0 | (c >> 12);
      out[n++] = 0x80 | ((c >> 6) & 63);
      out[n++] = 0x80 | (c & 63);
    }
  }
  return n;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** `s` with each lone surrogate replaced by U+FFFD (`String.prototype.toWellFormed`, ES2024). */
export function toWellFormed(s: string): string {
  LONE_SURROGATE.lastIndex = 0;
  return LONE_SURROGATE.test(s) ? s.replace(LONE_SURROGATE, "\ufffd") : s;
}
