// ECMAScript regular expressions (the `u`-flag dialect JSON Schema validators use for `pattern`)
// compiled to a byte automaton over the *JSON-encoded body* of a string: each character is written
// one canonical way (raw UTF-8; `\"`, `\\`, `\b \f \n \r \t`, other controls as `\u00xx`).
// Supported: literals and escapes, classes, `.`, groups, alternation, greedy and lazy quantifiers,
// `^`/`$` at the ends of top-level branches (a pattern is a search: unanchored ends admit any text),
// and lookaheads that are followed only by the rest of the pattern. Not supported (the caller checks
// those after generation): backreferences, lookbehind, word boundaries, `\p{…}`.
import { AutomatonTooLarge, type Dfa } from "./dfa.js";
import { ANY_STAR, DIGIT, LINE_END, MAX_CP, type Range, type Re, RegexUnsupported, SPACE, toDfa, WORD } from "./regex-nfa.js";

/** Sorted, merged ranges without surrogates. */
function normalize(rs: readonly Range[]): Range[] {
  const cut: Range[] = [];
  for (const [lo, hi] of rs) {
    if (lo <= 0xdfff && hi >= 0xd800) {
      if (lo < 0xd800) cut.push([lo, 0xd7ff]);
      if (hi > 0xdfff) cut.push([0xe000, hi]);
    } else cut.push([lo, hi]);
  }
  cut.sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [lo, hi] of cut) {
    const last = out[out.length - 1];
    if (last !== undefined && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

function negate(rs: readonly Range[]): Range[] {
  const out: Range[] = [];
  let next = 0;
  for (const [lo, hi] of normalize(rs)) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= MAX_CP) out.push([next, MAX_CP]);
  return normalize(out);
}

const set = (ranges: readonly Range[]): Re => ({ t: "set", ranges: normalize(ranges) });

/** Recursive-descent parser over code points. */
class Parser {
  private i = 0;
  private readonly cps: number[];

  constructor(src: string) {
    this.cps = [...src].map((c) => c.codePointAt(0) as number);
  }

  parse(): Re {
    const re = this.alt();
    if (this.i < this.cps.length) throw new SyntaxError(`unexpected ${String.fromCodePoint(this.cps[this.i])}`);
    return re;
  }

  private peek(): number | undefined {
    return this.cps[this.i];
  }
  private eat(c: string): boolean {
    if (this.cps[this.i] === c.codePointAt(0)) { this.i++; return true; }
    return false;
  }
  private next(): number {
    const c = this.cps[this.i++];
    if (c === undefined) throw new SyntaxError("unexpected end of pattern");
    return c;
  }

  private alt(): Re {
    const items = [this.seq()];
    while (this.eat("|")) items.push(this.seq());
    return items.length === 1 ? items[0] : { t: "alt", items };
  }

  private seq(): Re {
    const items: Re[] = [];
    for (let c = this.peek(); c !== undefined && c !== 0x7c && c !== 0x29; c = this.peek()) items.push(this.quantified());
    return items.length === 1 ? items[0] : { t: "seq", items };
  }

  private quantified(): Re {
    const atom = this.atom();
    const q = this.quantifier();
    if (q === undefined) return atom;
    if (atom.t === "bol" || atom.t === "eol" || atom.t === "look") throw new RegexUnsupported("a quantified assertion");
    return { t: "rep", item: atom, min: q[0], max: q[1] };
  }

  private quantifier(): [number, number] | undefined {
    let q: [number, number] | undefined;
    if (this.eat("*")) q = [0, Infinity];
    else if (this.eat("+")) q = [1, Infinity];
    else if (this.eat("?")) q = [0, 1];
    else if (this.peek() === 0x7b) {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(String.fromCodePoint(...this.cps.slice(this.i, this.i + 24)));
      if (m === null) throw new SyntaxError("bad {} quantifier");
      this.i += m[0].length;
      const min = Number(m[1]);
      q = [min, m[2] === undefined ? min : m[3] === "" ? Infinity : Number(m[3])];
    }
    if (q !== undefined) this.eat("?"); // lazy: the same language
    return q;
  }

  private atom(): Re {
    const c = this.next();
    switch (c) {
      case 0x5e: return { t: "bol" };
      case 0x24: return { t: "eol" };
      case 0x2e: return set(negate(LINE_END));
      case 0x5b: return this.cls();
      case 0x5c: return this.escape(false);
      case 0x28: {
        let look: boolean | undefined;
        if (this.eat("?")) {
          if (this.eat(":")) look = undefined;
          else if (this.eat("=")) look = false;
          else if (this.eat("!")) look = true;
          else if (this.eat("<")) {
            if (this.peek() === 0x3d || this.peek() === 0x21) throw new RegexUnsupported("lookbehind");
            while (!this.eat(">")) this.next(); // a named group
          } else throw new SyntaxError("bad group");
        }
        const inner = this.alt();
        if (!this.eat(")")) throw new SyntaxError("missing )");
        return look === undefined ? inner : { t: "look", neg: look, item: inner };
      }
      default:
        return set([[c, c]]);
    }
  }

  private cls(): Re {
    const neg = this.eat("^");
    const ranges: Range[] = [];
    while (this.peek() !== 0x5d) {
      const a = this.classAtom();
      if (this.peek() === 0x2d && this.cps[this.i + 1] !== 0x5d && this.cps[this.i + 1] !== undefined && typeof a === "number") {
        this.i++;
        const b = this.classAtom();
        if (typeof b !== "number" || b < a) throw new SyntaxError("bad class range");
        ranges.push([a, b]);
      } else if (typeof a === "number") ranges.push([a, a]);
      else ranges.push(...a);
    }
    this.i++; // ]
    return set(neg ? negate(ranges) : ranges);
  }

  /** One class member: a code point, or a set (\d, \w, \s and negations). */
  private classAtom(): number | readonly Range[] {
    const c = this.next();
    if (c !== 0x5c) return c;
    if (this.peek() === 0x62) { this.i++; return 0x08; }
    if (this.peek() === 0x2d) { this.i++; return 0x2d; }
    const e = this.escape(true);
    if (e.t !== "set") throw new SyntaxError("bad class escape");
    return e.ranges.length === 1 && e.ranges[0][0] === e.ranges[0][1] ? e.ranges[0][0] : e.ranges;
  }

  private escape(inClass: boolean): Re {
    const c = String.fromCodePoint(this.next());
    const one = (cp: number): Re => set([[cp, cp]]);
    switch (c) {
      case "d": return set(DIGIT);
      case "D": return set(negate(DIGIT));
      case "w": return set(WORD);
      case "W": return set(negate(WORD));
      case "s": return set(SPACE);
      case "S": return set(negate(SPACE));
      case "n": return one(0x0a);
      case "r": return one(0x0d);
      case "t": return one(0x09);
      case "v": return one(0x0b);
      case "f": return one(0x0c);
      case "0": return one(0);
      case "c": return one(this.next() % 32);
      case "x": return one(this.hex(2));
      case "u": {
        if (this.eat("{")) {
          let v = 0;
          while (!this.eat("}")) v = v * 16 + hexDigit(this.next());
          return one(v);
        }
        const hi = this.hex(4);
        if (hi >= 0xd800 && hi <= 0xdbff && this.cps[this.i] === 0x5c && this.cps[this.i + 1] === 0x75) {
          const save = this.i;
          this.i += 2;
          const lo = this.hex(4);
          if (lo >= 0xdc00 && lo <= 0xdfff) return one(0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00));
          this.i = save;
        }
        return one(hi);
      }
      case "b": case "B": throw new RegexUnsupported("word boundaries (\\b, \\B)");
      case "p": case "P": throw new RegexUnsupported("Unicode property escapes (\\p{…})");
      case "k": throw new RegexUnsupported("named backreferences");
      default:
        if (/[1-9]/.test(c)) throw new RegexUnsupported(inClass ? "octal escapes" : "backreferences");
        return one(c.codePointAt(0) as number);
    }
  }

  private hex(n: number): number {
    let v = 0;
    for (let k = 0; k < n; k++) v = v * 16 + hexDigit(this.next());
    return v;
  }
}

function hexDigit(c: number): number {
  const v = parseInt(String.fromCharCode(c), 16);
  if (Number.isNaN(v)) throw new SyntaxError("bad hex digit");
  return v;
}

// ---- anchors and lookaheads → full-match form with `and` nodes ----

const seqOf = (items: readonly Re[]): Re => (items.length === 1 ? items[0] : { t: "seq", items });
const itemsOf = (n: Re): readonly Re[] => (n.t === "seq" ? n.items : [n]);

/** Full-match form of the start: a branch that begins with `^` is anchored, others admit any prefix. */
function anchorStart(n: Re): Re {
  if (n.t === "alt") return { t: "alt", items: n.items.map(anchorStart) };
  const items = itemsOf(n);
  if (items.length > 0 && items[0].t === "bol") {
    // Lookaheads right after `^` look from the start too: a `^` of their own is redundant (pydantic's Decimal pattern).
    const rest = [...items.slice(1)];
    for (let i = 0; i < rest.length; i++) {
      const x = rest[i];
      if (x.t !== "look") break;
      const inner = itemsOf(x.item);
      if (inner[0]?.t === "bol") rest[i] = { ...x, item: seqOf(inner.slice(1)) };
    }
    return seqOf(rest);
  }
  if (items.length > 0 && items[0].t === "alt") return seqOf([anchorStart(items[0]), ...items.slice(1)]);
  return seqOf([ANY_STAR, ...items]);
}

function anchorEnd(n: Re): Re {
  if (n.t === "alt") return { t: "alt", items: n.items.map(anchorEnd) };
  const items = itemsOf(n);
  const last = items[items.length - 1];
  if (last?.t === "eol") return seqOf(items.slice(0, -1));
  if (last?.t === "alt") return seqOf([...items.slice(0, -1), anchorEnd(last)]);
  return seqOf([...items, ANY_STAR]);
}

/** Replace lookaheads by intersections with the rest of the pattern; `tail`: nothing follows `n`. */
function resolveLooks(n: Re, tail: boolean): Re {
  switch (n.t) {
    case "set": return n;
    case "bol": case "eol": throw new RegexUnsupported("^ or $ inside the pattern");
    case "alt": return { t: "alt", items: n.items.map((x) => resolveLooks(x, tail)) };
    case "rep": return { ...n, item: resolveLooks(n.item, tail && n.max === 1) }; // `(…)?` last: nothing follows its item
    case "and": return n;
    case "look": return resolveLooks({ t: "seq", items: [n] }, tail);
    case "seq": {
      const at = n.items.findIndex((x) => x.t === "look");
      const head = (at < 0 ? n.items : n.items.slice(0, at)).map((x, i, a) => resolveLooks(x, tail && at < 0 && i === a.length - 1));
      if (at < 0) return seqOf(head);
      if (!tail) throw new RegexUnsupported("a lookahead with more pattern after its group");
      const look = n.items[at] as Extract<Re, { t: "look" }>;
      const rest = resolveLooks(seqOf(n.items.slice(at + 1)), true);
      const inner = resolveLooks(anchorEnd(look.item), true);
      return seqOf([...head, { t: "and", a: rest, b: inner, neg: look.neg }]);
    }
  }
}

/**
 * Compile a JSON Schema `pattern` to an automaton over a string's JSON-encoded body bytes.
 * Throws SyntaxError for an invalid pattern, RegexUnsupported for a feature without an automaton,
 * AutomatonTooLarge past the size limit.
 *
 * @example
 * const d = compilePattern("^[A-Z]{3}-\\d+$"); // accepts the bytes ABC-12
 */
export function compilePattern(pattern: string): Dfa {
  new RegExp(pattern, "u"); // what validators run: its syntax errors are the schema's errors
  const tree = new Parser(pattern).parse();
  return toDfa(resolveLooks(anchorEnd(anchorStart(tree)), true));
}

export { AutomatonTooLarge, RegexUnsupported };
