// Bounded numbers as digit-level automata (the approach of llama.cpp's json-schema-to-grammar,
// extended to decimals): `minimum`/`maximum` and their exclusive forms compare digit strings, so a
// bound is exact in decimal; `multipleOf` = a·10^-k tracks the value modulo a. Bounded numbers are
// written without an exponent, with at most 16 fraction digits and as many integer digits as the
// bounds need (16 when unbounded on that side), so every value is a finite double.
import { type Dfa, Nfa, nfaToDfa, product } from "./dfa.js";
import { compilePattern } from "./regex.js";

/** A bound: `value` and whether it is excluded. */
export interface NumberBound {
  readonly value: number;
  readonly exclusive: boolean;
}

/** What a bounded number must satisfy. */
export interface NumberSpec {
  readonly integer: boolean;
  readonly lo?: NumberBound;
  readonly hi?: NumberBound;
  /** A positive multipleOf (exact in decimal). */
  readonly multipleOf?: number;
}

/** Integer digits of an unbounded side, fraction digits always. */
const INT_DIGITS = 16;
const FRAC_DIGITS = 16;

/** A finite number as exact decimal digits of its shortest representation. */
interface Decimal {
  readonly neg: boolean;
  readonly int: string; // no leading zeros; "0" for zero
  readonly frac: string; // no trailing zeros
}

/**
 * `x` as decimal digits (the shortest string that reads back as `x`).
 *
 * @example
 * toDecimal(-1.5e-3); // { neg: true, int: "0", frac: "0015" }
 */
export function toDecimal(x: number): Decimal {
  const [mant, expText] = Math.abs(x).toString().split("e");
  const exp = expText === undefined ? 0 : Number(expText);
  const [ip, fp = ""] = mant.split(".");
  const digits = ip + fp;
  const point = ip.length + exp; // digits before the decimal point
  const padded = point <= 0 ? "0".repeat(1 - point) + digits : point > digits.length ? digits + "0".repeat(point - digits.length) : digits;
  const at = Math.max(point, 1);
  const int = padded.slice(0, at).replace(/^0+(?=\d)/, "");
  const frac = padded.slice(at).replace(/0+$/, "");
  return { neg: x < 0 && (int !== "0" || frac !== ""), int, frac };
}

const esc = (s: string): string => s; // digits need no escaping
const alt = (xs: readonly string[]): string => (xs.length === 0 ? "[]" : `(?:${xs.join("|")})`);
const FRAC_ANY = "(?:\\.\\d+)?";

/** Non-negative decimals (no sign) ≥ d. */
function ge(d: Decimal): string {
  const n = d.int.length;
  const out = [`[1-9]\\d{${n},}${FRAC_ANY}`];
  for (let i = 0; i < n; i++) {
    const c = Number(d.int[i]);
    if (c < 9) out.push(`${esc(d.int.slice(0, i))}[${c + 1}-9]\\d{${n - i - 1}}${FRAC_ANY}`);
  }
  if (d.frac === "") out.push(`${d.int}${FRAC_ANY}`);
  else {
    const f = d.frac;
    const fr: string[] = [`${f}\\d*`];
    for (let i = 0; i < f.length; i++) {
      const c = Number(f[i]);
      if (c < 9) fr.push(`${f.slice(0, i)}[${c + 1}-9]\\d*`);
    }
    out.push(`${d.int}\\.${alt(fr)}`);
  }
  return alt(out);
}

/** Non-negative decimals (no sign) ≤ d. */
function le(d: Decimal): string {
  const n = d.int.length;
  const out: string[] = [];
  if (n > 1) out.push(`(?:0|[1-9]\\d{0,${n - 2}})${FRAC_ANY}`);
  for (let i = 0; i < n; i++) {
    const c = Number(d.int[i]);
    const low = i === 0 && n > 1 ? 1 : 0;
    if (c > low) out.push(`${d.int.slice(0, i)}[${low}-${c - 1}]\\d{${n - i - 1}}${FRAC_ANY}`);
  }
  const f = d.frac;
  const fr: string[] = [`${f}0*`];
  for (let k = 1; k < f.length; k++) fr.push(f.slice(0, k));
  for (let i = 0; i < f.length; i++) {
    const c = Number(f[i]);
    if (c > 0) fr.push(`${f.slice(0, i)}[0-${c - 1}]\\d*`);
  }
  out.push(`${d.int}(?:\\.${f === "" ? "0+" : alt(fr)})?`);
  return alt(out);
}

/** Signed decimals equal to d (trailing fraction zeros allowed; both signs of zero). */
function eq(d: Decimal): string {
  const body = d.frac === "" ? `${d.int}(?:\\.0+)?` : `${d.int}\\.${d.frac}0*`;
  const zero = d.int === "0" && d.frac === "";
  return zero ? `-?${body}` : d.neg ? `-${body}` : body;
}

const NONNEG = `(?:0|[1-9]\\d*)${FRAC_ANY}`;

function atLeast(b: NumberBound): string {
  const d = toDecimal(b.value);
  return d.neg ? alt([NONNEG, `-${le(d)}`]) : ge(d);
}

function atMost(b: NumberBound): string {
  const d = toDecimal(b.value);
  return d.neg ? `-${ge(d)}` : alt([`-${NONNEG}`, le(d)]);
}

/** `-?` then decimal digits: integer digits up to `intDigits`, and a fraction unless integer. */
function syntax(integer: boolean, intDigits: number): string {
  return `-?(?:0|[1-9]\\d{0,${intDigits - 1}})${integer ? "" : `(?:\\.\\d{1,${FRAC_DIGITS}})?`}`;
}

function full(re: string): Dfa {
  return compilePattern(`^${re}$`);
}

/** Decimals that are multiples of m = a·10^-k: the value times 10^k is an integer ≡ 0 (mod a). */
function multiples(m: number): Dfa {
  const d = toDecimal(m);
  const k = d.frac.length;
  const a = Number(d.int + d.frac);
  if (!Number.isSafeInteger(a) || a < 1 || a > 5000) throw new RangeError(`multipleOf ${m} is too fine for an automaton`);
  const nfa = new Nfa();
  const start = nfa.state();
  const end = nfa.state();
  const minus = nfa.state();
  const zero = nfa.state();
  const ints = Array.from({ length: a }, () => nfa.state());
  const dots = Array.from({ length: a }, () => nfa.state());
  const fracs = Array.from({ length: k }, () => Array.from({ length: a }, () => nfa.state()));
  const pow = (r: number, e: number): number => { let v = r; for (let i = 0; i < e; i++) v = (v * 10) % a; return v; };
  nfa.range(start, 0x2d, 0x2d, minus);
  for (const s of [start, minus]) {
    nfa.range(s, 0x30, 0x30, zero);
    for (let dgt = 1; dgt <= 9; dgt++) nfa.range(s, 0x30 + dgt, 0x30 + dgt, ints[dgt % a]);
  }
  nfa.epsilon(zero, end); // 0 is a multiple of anything
  if (k > 0) nfa.range(zero, 0x2e, 0x2e, dots[0]);
  for (let r = 0; r < a; r++) {
    for (let dgt = 0; dgt <= 9; dgt++) nfa.range(ints[r], 0x30 + dgt, 0x30 + dgt, ints[(r * 10 + dgt) % a]);
    if (pow(r, k) === 0) nfa.epsilon(ints[r], end);
    if (k > 0) nfa.range(ints[r], 0x2e, 0x2e, dots[r]);
    for (let f = 0; f < k; f++) {
      const from = f === 0 ? dots[r] : fracs[f - 1][r];
      for (let dgt = 0; dgt <= 9; dgt++) nfa.range(from, 0x30 + dgt, 0x30 + dgt, fracs[f][(r * 10 + dgt) % a]);
      if (pow(r, k - f - 1) === 0) nfa.epsilon(fracs[f][r], end);
    }
  }
  return nfaToDfa(nfa, start, end, "multipleOf");
}

const cache = new Map<string, Dfa>();

/**
 * The automaton of numbers meeting `spec` (cached by spec). Throws RangeError when the bounds admit
 * no value of the type, AutomatonTooLarge when the product grows past the size limit.
 *
 * @example
 * numberDfa({ integer: true, lo: { value: 1, exclusive: false }, hi: { value: 100, exclusive: false } });
 */
export function numberDfa(spec: NumberSpec): Dfa {
  const key = JSON.stringify(spec);
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const digitsOf = (b: NumberBound | undefined): number => (b === undefined ? 0 : toDecimal(b.value).int.length);
  const intDigits = Math.max(INT_DIGITS, digitsOf(spec.lo), digitsOf(spec.hi));
  let d = full(syntax(spec.integer, intDigits));
  if (spec.lo !== undefined) {
    d = product(d, full(atLeast(spec.lo)), "and", "minimum");
    if (spec.lo.exclusive) d = product(d, full(eq(toDecimal(spec.lo.value))), "andNot", "minimum");
  }
  if (spec.hi !== undefined) {
    d = product(d, full(atMost(spec.hi)), "and", "maximum");
    if (spec.hi.exclusive) d = product(d, full(eq(toDecimal(spec.hi.value))), "andNot", "maximum");
  }
  if (spec.multipleOf !== undefined) d = product(d, multiples(spec.multipleOf), "and", "multipleOf");
  if (d.states === 0) throw new RangeError("no number satisfies these bounds");
  if (cache.size > 256) cache.delete(cache.keys().next().value as string);
  cache.set(key, d);
  return d;
}
