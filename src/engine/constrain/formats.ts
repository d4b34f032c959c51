// JSON Schema `format`s as patterns: each admits a canonical subset of the format (what RFC 3339,
// RFC 4122, RFC 3986 and the validators in use — ajv-formats, zod, pydantic — all accept), so a
// generated value passes every one of them. The same sources check values after generation.
import type { Dfa } from "./dfa.js";
import { compilePattern } from "./regex.js";

const DATE =
  "(?:(?:\\d\\d[2468][048]|\\d\\d[13579][26]|\\d\\d0[48]|[02468][048]00|[13579][26]00)-02-29" +
  "|\\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\\d|30)|02-(?:0[1-9]|1\\d|2[0-8])))";
const TIME = "(?:[01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d(?:\\.\\d{1,6})?(?:Z|[+-](?:[01]\\d|2[0-3]):[0-5]\\d)";
const LABEL = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?";
const HOST = `(?:${LABEL}\\.){0,2}${LABEL}`; // at most 3 labels: within 253 characters
const PCHAR = "(?:[A-Za-z0-9._~!$&'()*+,;=:@-]|%[0-9A-F]{2})";
const URI = `https?://${HOST}(?::\\d{1,5})?(?:/${PCHAR}*)*(?:\\?(?:${PCHAR}|[/?])*)?(?:#(?:${PCHAR}|[/?])*)?`;
const OCTET = "(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";

/** Formats enforced during generation: name → anchored pattern source. */
export const FORMAT_PATTERNS: Readonly<Record<string, string>> = {
  date: `^${DATE}$`,
  time: `^${TIME}$`,
  "date-time": `^${DATE}T${TIME}$`,
  uuid: "^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
  email: "^[A-Za-z0-9_+-]+(?:\\.[A-Za-z0-9_+-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\\.)+[A-Za-z]{2,}$",
  uri: `^${URI}$`,
  "uri-reference": `^${URI}$`,
  url: `^${URI}$`,
  hostname: `^${HOST}$`,
  ipv4: `^(?:${OCTET}\\.){3}${OCTET}$`,
  duration: "^P(?!$)(?:(?:\\d+Y)?(?:\\d+M)?(?:\\d+D)?(?:T(?=\\d)(?:\\d+H)?(?:\\d+M)?(?:\\d+S)?)?|\\d+W)$",
};

const compiled = new Map<string, Dfa>();

/**
 * The automaton of a known format (over a string's JSON-encoded body), or undefined.
 *
 * @example
 * formatDfa("date"); // accepts 2024-02-29, not 2023-02-29
 */
export function formatDfa(format: string): Dfa | undefined {
  const src = FORMAT_PATTERNS[format];
  if (src === undefined) return undefined;
  let d = compiled.get(format);
  if (d === undefined) {
    d = compilePattern(src);
    compiled.set(format, d);
  }
  return d;
}

const checks = new Map<string, RegExp>();

/** Whether `value` has a known `format` (undefined for formats this module does not know). */
export function checkFormat(format: string, value: string): boolean | undefined {
  const src = FORMAT_PATTERNS[format];
  if (src === undefined) return undefined;
  let re = checks.get(format);
  if (re === undefined) {
    re = new RegExp(src, "u");
    checks.set(format, re);
  }
  return re.test(value);
}
