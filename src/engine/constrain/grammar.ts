// Grammar nodes for constrained decoding: JSON-aware primitives (object, array, string, number, any)
// plus literals, byte automata (bounded numbers), special-token symbols, sequences, alternatives and
// references (for recursion). A compiled JSON Schema or a tool-call format is one tree of these
// nodes; the matcher walks it.
import { QwenrtError } from "../../util/errors.js";
import type { Dfa } from "./dfa.js";

/** A declared object property: its JSON-encoded key literal (`"name"` with quotes) and value node. */
export interface PropNode {
  readonly name: string;
  readonly key: LitNode; // UTF-8 of JSON.stringify(name), quotes included
  readonly value: GNode;
  readonly required: boolean;
}

/** String constraints; `exclude` lists keys an extra object key must not equal. */
export interface StrNode {
  readonly k: "str";
  readonly id: number;
  readonly minLength: number;
  readonly maxLength: number | undefined;
  readonly exclude: ReadonlySet<string> | null;
  /** Longest JSON encoding of an excluded key (6 bytes per UTF-16 unit); longer keys cannot match. */
  readonly excludeLimit: number;
  /** Pattern / format automaton over the JSON-encoded body (between the quotes), or null. */
  readonly dfa: Dfa | null;
}

/** What an extra object key must satisfy (`propertyNames`). */
export interface KeyConstraint {
  readonly minLength: number;
  readonly maxLength: number | undefined;
  readonly dfa: Dfa | null;
}

/** Array: `prefix[i]` for item i (tuples), `items` after them. */
export interface ArrNode {
  readonly k: "arr";
  readonly id: number;
  readonly prefix: readonly GNode[];
  readonly items: GNode;
  readonly minItems: number;
  readonly maxItems: number | undefined;
  /** uniqueItems over a few literal values: each may appear once (the matcher tracks which did). */
  readonly unique: readonly LitNode[] | null;
}

/** Object: declared properties in order, then extra keys if `additional` is a node. */
export interface ObjNode {
  readonly k: "obj";
  readonly id: number;
  readonly props: readonly PropNode[];
  readonly additional: GNode | null;
  readonly extraKey: StrNode | null;
  /** `firstRequired[i]` = index of the first required property at or after i, or -1. */
  readonly firstRequired: Int32Array;
}

/** One node of a constraint grammar; `id` is unique within one compiled grammar. */
export type GNode =
  | { readonly k: "any"; readonly id: number }
  | ObjNode
  | ArrNode
  | StrNode
  | { readonly k: "num"; readonly id: number; readonly integer: boolean }
  | { readonly k: "dfa"; readonly id: number; readonly dfa: Dfa }
  | LitNode
  | { readonly k: "sym"; readonly id: number; readonly sym: number }
  | { readonly k: "seq"; readonly id: number; readonly items: readonly GNode[] }
  | { readonly k: "alt"; readonly id: number; readonly options: readonly GNode[] }
  | UntilNode
  | RefNode;

/** Free text (any bytes, no special token) up to and including the first occurrence of `end`
 * (an XML tool call's parameter value and its `</parameter>`). */
export interface UntilNode {
  readonly k: "until";
  readonly id: number;
  readonly end: Uint8Array;
  /** `next[m * 256 + b]`: how much of `end` is matched after byte `b` with `m` matched before. */
  readonly next: Uint8Array;
}

/** Exact bytes. */
export interface LitNode {
  readonly k: "lit";
  readonly id: number;
  readonly bytes: Uint8Array;
}

/** A forward reference, filled in once its target is compiled (makes recursion possible). */
export interface RefNode {
  readonly k: "ref";
  readonly id: number;
  readonly where: string;
  target: GNode | null;
}

const utf8 = new TextEncoder();

/** Symbols above 255 stand for special (added) token ids: symbol = SYM_BASE + token id. */
export const SYM_BASE = 256;

/**
 * The unconstrained JSON value and its parts, shared by every grammar (negative ids never collide
 * with a builder's ids). Built once; `ANY.obj` refers back to `ANY.value`.
 */
export const ANY = (() => {
  let id = -1;
  const lit = (t: string): LitNode => ({ k: "lit", id: id--, bytes: utf8.encode(t) });
  const value: GNode = { k: "any", id: id-- };
  const str: StrNode = { k: "str", id: id--, minLength: 0, maxLength: undefined, exclude: null, excludeLimit: 0, dfa: null };
  const obj: ObjNode = { k: "obj", id: id--, props: [], additional: value, extraKey: str, firstRequired: new Int32Array([-1]) };
  const arr: GNode = { k: "arr", id: id--, prefix: [], items: value, minItems: 0, maxItems: undefined, unique: null };
  const num: GNode = { k: "num", id: id--, integer: false };
  return { value, str, obj, arr, num, trueLit: lit("true"), falseLit: lit("false"), nullLit: lit("null") };
})();

/**
 * Builds grammar nodes with ids unique to one grammar (ids key the matcher's mask cache).
 *
 * @example
 * const b = new GrammarBuilder();
 * const root = b.seq([b.lit("<a>"), b.num(true)]);
 */
export class GrammarBuilder {
  private nextId = 0;

  private id(): number {
    return this.nextId++;
  }

  lit(text: string | Uint8Array): LitNode {
    return { k: "lit", id: this.id(), bytes: typeof text === "string" ? utf8.encode(text) : text };
  }
  sym(tokenId: number): GNode {
    return { k: "sym", id: this.id(), sym: SYM_BASE + tokenId };
  }
  seq(items: readonly GNode[]): GNode {
    return items.length === 1 ? items[0] : { k: "seq", id: this.id(), items };
  }
  alt(options: readonly GNode[]): GNode {
    return options.length === 1 ? options[0] : { k: "alt", id: this.id(), options };
  }
  ref(where: string): RefNode {
    return { k: "ref", id: this.id(), where, target: null };
  }
  str(minLength: number, maxLength: number | undefined, exclude: ReadonlySet<string> | null = null, dfa: Dfa | null = null): StrNode {
    const excludeLimit = exclude === null ? 0 : 6 * Math.max(0, ...[...exclude].map((x) => x.length));
    return { k: "str", id: this.id(), minLength, maxLength, exclude, excludeLimit, dfa };
  }
  until(end: string): UntilNode {
    const e = utf8.encode(end);
    if (e.length === 0 || e.length > 255) throw new Error(`internal: an until-terminator of ${e.length} bytes`);
    // The string-matching automaton of `end`: after m matched bytes and byte b, the longest prefix
    // of `end` that is a suffix of end[0..m) + b.
    const next = new Uint8Array(e.length * 256);
    for (let m = 0; m < e.length; m++) {
      for (let b = 0; b < 256; b++) {
        const seen = [...e.subarray(0, m), b];
        let k = Math.min(seen.length, e.length);
        while (k > 0 && !e.subarray(0, k).every((x, i) => x === seen[seen.length - k + i])) k--;
        next[m * 256 + b] = k;
      }
    }
    return { k: "until", id: this.id(), end: e, next };
  }
  num(integer: boolean): GNode {
    return { k: "num", id: this.id(), integer };
  }
  /** A value that is a whole word of `dfa` (bounded numbers: nothing after it belongs to it). */
  dfa(dfa: Dfa): GNode {
    return { k: "dfa", id: this.id(), dfa };
  }
  arr(items: GNode, minItems: number, maxItems: number | undefined, prefix: readonly GNode[] = [], unique: readonly LitNode[] | null = null): ArrNode {
    return { k: "arr", id: this.id(), prefix, items, minItems, maxItems, unique };
  }
  obj(props: readonly { name: string; value: GNode; required: boolean }[], additional: GNode | null, key?: KeyConstraint): ObjNode {
    const full: PropNode[] = props.map((p) => ({ ...p, key: this.lit(JSON.stringify(p.name)) }));
    const firstRequired = new Int32Array(full.length + 1).fill(-1);
    for (let i = full.length - 1; i >= 0; i--) firstRequired[i] = full[i].required ? i : firstRequired[i + 1];
    const names = new Set(full.map((p) => p.name));
    const extraKey = additional === null ? null : this.str(key?.minLength ?? 0, key?.maxLength, names.size > 0 ? names : null, key?.dfa ?? null);
    return { k: "obj", id: this.id(), props: full, additional, extraKey, firstRequired };
  }
}

/** Whether a node can match the empty string (only `seq`/`alt` built that way can). */
export function nullable(node: GNode, memo: Map<number, boolean> = new Map()): boolean {
  const seen = memo.get(node.id);
  if (seen !== undefined) return seen;
  memo.set(node.id, false); // a cycle through itself does not make a node nullable
  let r: boolean;
  switch (node.k) {
    case "seq":
      r = node.items.every((n) => nullable(n, memo));
      break;
    case "alt":
      r = node.options.some((n) => nullable(n, memo));
      break;
    case "ref":
      r = node.target !== null && nullable(node.target, memo);
      break;
    case "lit":
      r = node.bytes.length === 0;
      break;
    default:
      r = false;
  }
  memo.set(node.id, r);
  return r;
}

/**
 * Reject grammars where a node can reach itself without consuming input (the matcher would loop),
 * e.g. `$defs: {a: {anyOf: [{$ref: "#/$defs/a"}]}}`.
 */
export function checkLeftRecursion(root: GNode): void {
  const done = new Set<number>();
  const onPath = new Set<number>();
  const nullMemo = new Map<number, boolean>();
  const visit = (n: GNode): void => {
    if (done.has(n.id)) return;
    if (onPath.has(n.id)) {
      throw new QwenrtError(n.k === "ref" ? n.where : "schema", "recursive $ref that consumes no input (left recursion)");
    }
    onPath.add(n.id);
    if (n.k === "ref" && n.target !== null) visit(n.target);
    else if (n.k === "alt") n.options.forEach(visit);
    else if (n.k === "seq") {
      for (const item of n.items) {
        visit(item);
        if (!nullable(item, nullMemo)) break;
      }
    }
    onPath.delete(n.id);
    done.add(n.id);
  };
  const all: GNode[] = [];
  collect(root, new Set(), all);
  for (const n of all) visit(n);
}

/** Every node reachable from `root` (each once). */
export function collect(root: GNode, seen: Set<number>, out: GNode[]): void {
  const stack: GNode[] = [root];
  while (stack.length > 0) {
    const n = stack.pop() as GNode;
    if (seen.has(n.id)) continue;
    seen.add(n.id);
    out.push(n);
    switch (n.k) {
      case "obj":
        for (const p of n.props) stack.push(p.value);
        if (n.additional !== null) stack.push(n.additional);
        break;
      case "arr":
        stack.push(...n.prefix, n.items);
        break;
      case "seq":
        stack.push(...n.items);
        break;
      case "alt":
        stack.push(...n.options);
        break;
      case "ref":
        if (n.target !== null) stack.push(n.target);
        break;
      default:
        break;
    }
  }
}
