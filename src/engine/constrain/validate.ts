// A JSON Schema validator (draft 2020-12 vocabulary, with the draft-04..2019 forms libraries still
// emit) for checking an output after generation: the keywords a grammar cannot enforce exactly
// (uniqueItems, a oneOf whose branches overlap, patterns with backreferences, …) are checked here
// and any failure is reported with the instance path and keyword.
import { isObject } from "../../util/json.js";
import { checkFormat } from "./formats.js";
import { toDecimal } from "./numbers.js";

/** One failed keyword: where in the value (a JSON pointer) and which schema keyword. */
export interface Violation {
  readonly path: string;
  readonly keyword: string;
  readonly message: string;
}

/** Structural equality of JSON values (key order ignored). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && jsonEqual(a[k], b[k]));
  }
  return false;
}

/** Whether x is an exact multiple of m in decimal (as JSON Schema defines it, not in binary floating point). */
export function isMultipleOf(x: number, m: number): boolean {
  const a = toDecimal(x);
  const b = toDecimal(m);
  const e = Math.max(a.frac.length, b.frac.length);
  const big = (d: { int: string; frac: string }): bigint => BigInt(d.int + d.frac.padEnd(e, "0"));
  const mb = big(b);
  return mb !== 0n && big(a) % mb === 0n;
}

const regexes = new Map<string, RegExp>();
function regex(p: string): RegExp {
  let r = regexes.get(p);
  if (r === undefined) {
    r = new RegExp(p, "u");
    regexes.set(p, r);
  }
  return r;
}

const pointer = (path: string, key: string | number): string => `${path}/${String(key).replace(/~/g, "~0").replace(/\//g, "~1")}`;

function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

/**
 * Validate `value` against `schema` (references resolve within `root`, by default the schema); [] when valid.
 *
 * @example
 * validateJson([1, 1], { type: "array", uniqueItems: true }); // [{ path: "", keyword: "uniqueItems", … }]
 */
export function validateJson(value: unknown, schema: unknown, root: unknown = schema): Violation[] {
  const out: Violation[] = [];
  new Validator(root).check(value, schema, "", out);
  return out;
}

class Validator {
  constructor(private readonly root: unknown) {}

  private resolve(ref: string): unknown {
    if (ref === "#") return this.root;
    const m = /^#\/(.*)$/.exec(ref);
    if (m === null) return true;
    let cur: unknown = this.root;
    for (const raw of m[1].split("/")) {
      const k = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
      cur = isObject(cur) ? cur[k] : Array.isArray(cur) ? cur[Number(k)] : undefined;
    }
    return cur ?? true;
  }

  private ok(v: unknown, s: unknown): boolean {
    const out: Violation[] = [];
    this.check(v, s, "", out);
    return out.length === 0;
  }

  check(v: unknown, s: unknown, path: string, out: Violation[]): void {
    if (s === true || s === undefined) return;
    const fail = (keyword: string, message: string): void => void out.push({ path, keyword, message });
    if (s === false || !isObject(s)) return fail("false", "no value is allowed here");
    if (s.nullable === true && v === null) return;
    if (typeof s.$ref === "string") this.check(v, this.resolve(s.$ref), path, out);
    if (Array.isArray(s.allOf)) for (const x of s.allOf) this.check(v, x, path, out);
    if (Array.isArray(s.anyOf) && !s.anyOf.some((x) => this.ok(v, x))) fail("anyOf", "matches none of the anyOf schemas");
    if (Array.isArray(s.oneOf)) {
      const n = s.oneOf.filter((x) => this.ok(v, x)).length;
      if (n !== 1) fail("oneOf", `matches ${n} of the oneOf schemas, not exactly one`);
    }
    if (s.not !== undefined && this.ok(v, s.not)) fail("not", "matches the schema under not");
    if (s.if !== undefined) {
      const branch = this.ok(v, s.if) ? s.then : s.else;
      if (branch !== undefined) this.check(v, branch, path, out);
    }
    const t = typeOf(v);
    if (s.type !== undefined) {
      const types = Array.isArray(s.type) ? s.type : [s.type];
      if (!types.some((x) => x === t || (x === "number" && t === "integer"))) return fail("type", `must be ${types.join(" or ")}, is ${t}`);
    }
    if (s.const !== undefined && !jsonEqual(v, s.const)) fail("const", `must equal ${JSON.stringify(s.const)}`);
    if (Array.isArray(s.enum) && !s.enum.some((x) => jsonEqual(v, x))) fail("enum", "must be one of the enum values");
    if (typeof v === "string") this.string(v, s, fail);
    else if (typeof v === "number") this.number(v, s, fail);
    else if (Array.isArray(v)) this.array(v, s, path, out, fail);
    else if (isObject(v)) this.object(v, s, path, out, fail);
  }

  private string(v: string, s: Record<string, unknown>, fail: (k: string, m: string) => void): void {
    const n = [...v].length;
    if (typeof s.minLength === "number" && n < s.minLength) fail("minLength", `must have at least ${s.minLength} characters`);
    if (typeof s.maxLength === "number" && n > s.maxLength) fail("maxLength", `must have at most ${s.maxLength} characters`);
    if (typeof s.pattern === "string" && !regex(s.pattern).test(v)) fail("pattern", `must match ${s.pattern}`);
    if (typeof s.format === "string" && checkFormat(s.format, v) === false) fail("format", `must be a ${s.format}`);
  }

  private number(v: number, s: Record<string, unknown>, fail: (k: string, m: string) => void): void {
    const { minimum: min, maximum: max, exclusiveMinimum: xmin, exclusiveMaximum: xmax } = s;
    if (typeof min === "number" && (xmin === true ? v <= min : v < min)) fail("minimum", `must be ${xmin === true ? ">" : ">="} ${min}`);
    if (typeof max === "number" && (xmax === true ? v >= max : v > max)) fail("maximum", `must be ${xmax === true ? "<" : "<="} ${max}`);
    if (typeof xmin === "number" && v <= xmin) fail("exclusiveMinimum", `must be > ${xmin}`);
    if (typeof xmax === "number" && v >= xmax) fail("exclusiveMaximum", `must be < ${xmax}`);
    if (typeof s.multipleOf === "number" && !isMultipleOf(v, s.multipleOf)) fail("multipleOf", `must be a multiple of ${s.multipleOf}`);
  }

  private array(v: unknown[], s: Record<string, unknown>, path: string, out: Violation[], fail: (k: string, m: string) => void): void {
    const prefix = Array.isArray(s.prefixItems) ? s.prefixItems : Array.isArray(s.items) ? s.items : [];
    const rest = Array.isArray(s.items) ? s.additionalItems : s.items;
    v.forEach((x, i) => this.check(x, i < prefix.length ? prefix[i] : rest, pointer(path, i), out));
    if (typeof s.minItems === "number" && v.length < s.minItems) fail("minItems", `must have at least ${s.minItems} items`);
    if (typeof s.maxItems === "number" && v.length > s.maxItems) fail("maxItems", `must have at most ${s.maxItems} items`);
    if (s.uniqueItems === true) {
      for (let i = 0; i < v.length; i++) for (let j = i + 1; j < v.length; j++) {
        if (jsonEqual(v[i], v[j])) return fail("uniqueItems", `items ${i} and ${j} are equal`);
      }
    }
    if (s.contains !== undefined) {
      const n = v.filter((x) => this.ok(x, s.contains)).length;
      const lo = typeof s.minContains === "number" ? s.minContains : 1;
      if (n < lo || (typeof s.maxContains === "number" && n > s.maxContains)) fail("contains", `${n} items match contains`);
    }
  }

  private object(v: Record<string, unknown>, s: Record<string, unknown>, path: string, out: Violation[], fail: (k: string, m: string) => void): void {
    const props = isObject(s.properties) ? s.properties : {};
    const patterns = isObject(s.patternProperties) ? Object.entries(s.patternProperties) : [];
    for (const [k, x] of Object.entries(v)) {
      let matched = false;
      if (k in props) { matched = true; this.check(x, props[k], pointer(path, k), out); }
      for (const [p, ps] of patterns) if (regex(p).test(k)) { matched = true; this.check(x, ps, pointer(path, k), out); }
      if (!matched && s.additionalProperties !== undefined) {
        if (s.additionalProperties === false) fail("additionalProperties", `property ${JSON.stringify(k)} is not allowed`);
        else this.check(x, s.additionalProperties, pointer(path, k), out);
      }
      if (s.propertyNames !== undefined) {
        const sub: Violation[] = [];
        this.check(k, s.propertyNames, path, sub);
        if (sub.length > 0) fail("propertyNames", `property name ${JSON.stringify(k)} is not allowed`);
      }
    }
    if (Array.isArray(s.required)) for (const r of s.required) if (typeof r === "string" && !(r in v)) fail("required", `must have property ${JSON.stringify(r)}`);
    const n = Object.keys(v).length;
    if (typeof s.minProperties === "number" && n < s.minProperties) fail("minProperties", `must have at least ${s.minProperties} properties`);
    if (typeof s.maxProperties === "number" && n > s.maxProperties) fail("maxProperties", `must have at most ${s.maxProperties} properties`);
    if (isObject(s.dependentRequired)) {
      for (const [k, deps] of Object.entries(s.dependentRequired)) {
        if (k in v && Array.isArray(deps)) for (const d of deps) if (typeof d === "string" && !(d in v)) fail("dependentRequired", `${JSON.stringify(k)} requires ${JSON.stringify(d)}`);
      }
    }
  }
}
