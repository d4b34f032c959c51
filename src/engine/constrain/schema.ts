// JSON Schema (a subset) → constraint grammar. Unsupported keywords throw a QwenrtError naming the
// keyword's path, so a request never silently gets weaker constraints than it asked for.
import { QwenrtError } from "../../util/errors.js";
import { isObject } from "../../util/json.js";
import { ANY, type GNode, type GrammarBuilder, type RefNode, checkLeftRecursion, collect } from "./grammar.js";

/** Keywords that only annotate (or are resolved elsewhere) and never constrain output. */
const IGNORED = new Set([
  "title", "description", "default", "examples", "$schema", "$id", "$comment", "format",
  "deprecated", "readOnly", "writeOnly", "$defs", "definitions",
]);
const SUPPORTED = new Set([
  "type", "properties", "required", "additionalProperties", "items", "minItems", "maxItems", "enum",
  "const", "anyOf", "oneOf", "allOf", "$ref", "minLength", "maxLength", "nullable",
]);
const TYPES = new Set(["object", "array", "string", "number", "integer", "boolean", "null"]);

/** Deepest nesting of objects and arrays a schema may have (the compiler recurses per level). */
export const MAX_SCHEMA_DEPTH = 64;
/** Most values (objects, arrays, keys, scalars) a schema may hold. */
export const MAX_SCHEMA_NODES = 20_000;

/**
 * Check a schema's size before compiling it, without recursion: a 1,000-level or 200,000-property
 * schema is a 400 naming the limit, not a stack overflow or minutes of compiling.
 *
 * @example
 * checkSchemaSize({ type: "object" }, "response_format.json_schema.schema"); // ok
 */
export function checkSchemaSize(schema: unknown, where: string): void {
  const stack: Array<{ v: unknown; depth: number }> = [{ v: schema, depth: 1 }];
  let nodes = 0;
  while (stack.length > 0) {
    const { v, depth } = stack.pop()!;
    if (++nodes > MAX_SCHEMA_NODES) {
      throw new QwenrtError(where, `the schema holds more than ${MAX_SCHEMA_NODES} values; at most ${MAX_SCHEMA_NODES} are supported`, { code: "invalid_request" });
    }
    if (typeof v !== "object" || v === null) continue;
    if (depth > MAX_SCHEMA_DEPTH) {
      throw new QwenrtError(where, `the schema nests deeper than ${MAX_SCHEMA_DEPTH} levels; at most ${MAX_SCHEMA_DEPTH} are supported`, { code: "invalid_request" });
    }
    const children = Array.isArray(v) ? v : Object.values(v);
    nodes += Array.isArray(v) ? 0 : children.length; // keys count too
    for (const c of children) stack.push({ v: c, depth: depth + 1 });
  }
}

/** How a schema is compiled. */
export interface SchemaOptions {
  /** Parameter path used in error messages, e.g. `response_format.json_schema.schema`. */
  where: string;
  /**
   * Strict mode (default): an object without `additionalProperties` admits only its declared
   * properties. Non-strict follows JSON Schema (extra keys with any value are allowed).
   */
  strict?: boolean;
}

/**
 * Compile a JSON Schema into a grammar node built with `b`.
 *
 * @example
 * const root = compileSchema({ type: "object", properties: { a: { type: "integer" } } }, new GrammarBuilder(), { where: "schema" });
 */
export function compileSchema(schema: unknown, b: GrammarBuilder, opts: SchemaOptions): GNode {
  checkSchemaSize(schema, opts.where);
  const c = new SchemaCompiler(schema, b, opts.where, opts.strict ?? true);
  const self = b.ref(opts.where);
  c.refs.set("#", self);
  self.target = c.compile(schema, opts.where);
  checkLeftRecursion(self);
  checkProductive(self);
  return self;
}

class SchemaCompiler {
  readonly refs = new Map<string, RefNode>();

  constructor(
    private readonly root: unknown,
    private readonly b: GrammarBuilder,
    private readonly where: string,
    private readonly strict: boolean,
  ) {}

  compile(s: unknown, path: string): GNode {
    if (s === true) return ANY.value;
    if (s === false) throw new QwenrtError(path, "schema `false` admits no value");
    if (!isObject(s)) throw new QwenrtError(path, `must be a JSON Schema object or boolean, got ${JSON.stringify(s)}`);
    for (const k of Object.keys(s)) {
      if (k === "pattern" || k === "patternProperties") {
        throw new QwenrtError(`${path}.${k}`, `JSON Schema keyword "${k}" is not supported for constrained decoding (regular expressions are not compiled)`);
      }
      if (!IGNORED.has(k) && !SUPPORTED.has(k)) {
        throw new QwenrtError(`${path}.${k}`, `JSON Schema keyword "${k}" is not supported for constrained decoding`);
      }
    }
    const nullable = s.nullable;
    if (nullable !== undefined && typeof nullable !== "boolean") throw new QwenrtError(`${path}.nullable`, "must be a boolean");
    const withNull = (n: GNode): GNode => (nullable === true ? this.b.alt([n, ANY.nullLit]) : n);
    const constraining = Object.keys(s).filter((k) => SUPPORTED.has(k) && k !== "nullable");

    for (const comb of ["$ref", "anyOf", "oneOf", "allOf"] as const) {
      if (s[comb] === undefined) continue;
      const others = constraining.filter((k) => k !== comb);
      if (others.length > 0) {
        throw new QwenrtError(`${path}.${others[0]}`, `combining "${others[0]}" with sibling "${comb}" is not supported; move it into the ${comb} branches`);
      }
      if (comb === "$ref") return withNull(this.ref(s.$ref, `${path}.$ref`));
      const list = s[comb];
      if (!Array.isArray(list) || list.length === 0) throw new QwenrtError(`${path}.${comb}`, "must be a non-empty array of schemas");
      if (comb === "allOf") {
        if (list.length !== 1) throw new QwenrtError(`${path}.allOf`, "allOf with more than one schema is not supported");
        return withNull(this.compile(list[0], `${path}.allOf[0]`));
      }
      // oneOf is compiled like anyOf: output matches at least one branch (exactly one when branches are disjoint).
      return withNull(this.b.alt(list.map((x, i) => this.compile(x, `${path}.${comb}[${i}]`))));
    }

    let types = this.types(s, path);
    if (nullable === true && types !== null && !types.includes("null")) types = [...types, "null"];

    if (s.const !== undefined || s.enum !== undefined) {
      const values: unknown[] = s.const !== undefined ? [s.const] : this.enumValues(s.enum, `${path}.enum`);
      const allowed = types === null ? values : values.filter((v) => types.some((t) => jsonTypeMatches(v, t)));
      if (nullable === true && !allowed.includes(null)) allowed.push(null);
      if (allowed.length === 0) throw new QwenrtError(`${path}.${s.const !== undefined ? "const" : "enum"}`, "no value matches the schema's type");
      return this.b.alt(allowed.map((v) => this.b.lit(JSON.stringify(v))));
    }
    if (types === null) return ANY.value;
    return this.b.alt(types.map((t) => this.typed(s, t, path)));
  }

  private types(s: Record<string, unknown>, path: string): string[] | null {
    const t = s.type;
    if (t === undefined) {
      if (s.properties !== undefined || s.required !== undefined || s.additionalProperties !== undefined) return ["object"];
      if (s.items !== undefined || s.minItems !== undefined || s.maxItems !== undefined) return ["array"];
      if (s.minLength !== undefined || s.maxLength !== undefined) return ["string"];
      return null;
    }
    const list = typeof t === "string" ? [t] : t;
    if (!Array.isArray(list) || list.length === 0) throw new QwenrtError(`${path}.type`, "must be a type name or a non-empty array of them");
    for (const x of list) {
      if (typeof x !== "string" || !TYPES.has(x)) throw new QwenrtError(`${path}.type`, `unknown type ${JSON.stringify(x)}`);
    }
    return [...new Set(list as string[])];
  }

  private enumValues(e: unknown, path: string): unknown[] {
    if (!Array.isArray(e) || e.length === 0) throw new QwenrtError(path, "must be a non-empty array");
    return [...e];
  }

  private typed(s: Record<string, unknown>, t: string, path: string): GNode {
    switch (t) {
      case "object":
        return this.object(s, path);
      case "array": {
        const min = count(s.minItems, `${path}.minItems`) ?? 0;
        const max = count(s.maxItems, `${path}.maxItems`);
        if (max !== undefined && max < min) throw new QwenrtError(`${path}.maxItems`, `must be >= minItems (${min}), got ${max}`);
        if (Array.isArray(s.items)) throw new QwenrtError(`${path}.items`, "tuple form (an array of schemas) is not supported");
        const items = s.items === undefined ? ANY.value : this.compile(s.items, `${path}.items`);
        return this.b.arr(items, min, max);
      }
      case "string": {
        const min = count(s.minLength, `${path}.minLength`) ?? 0;
        const max = count(s.maxLength, `${path}.maxLength`);
        if (max !== undefined && max < min) throw new QwenrtError(`${path}.maxLength`, `must be >= minLength (${min}), got ${max}`);
        return min === 0 && max === undefined ? ANY.str : this.b.str(min, max);
      }
      case "number":
        return ANY.num;
      case "integer":
        return this.b.num(true);
      case "boolean":
        return this.b.alt([ANY.trueLit, ANY.falseLit]);
      default:
        return ANY.nullLit;
    }
  }

  private object(s: Record<string, unknown>, path: string): GNode {
    const props = s.properties ?? {};
    if (!isObject(props)) throw new QwenrtError(`${path}.properties`, "must be an object mapping names to schemas");
    const req = s.required ?? [];
    if (!Array.isArray(req) || !req.every((r) => typeof r === "string")) throw new QwenrtError(`${path}.required`, "must be an array of property names");
    for (const r of req) {
      if (!(r in props)) throw new QwenrtError(`${path}.required`, `required property ${JSON.stringify(r)} is not declared in "properties"`);
    }
    const required = new Set(req);
    const list = Object.entries(props).map(([name, sub]) => ({
      name,
      value: this.compile(sub, `${path}.properties.${name}`),
      required: required.has(name),
    }));
    const ap = s.additionalProperties;
    let additional: GNode | null;
    if (ap === undefined) additional = this.strict ? null : ANY.value;
    else if (ap === false) additional = null;
    else if (ap === true) additional = ANY.value;
    else additional = this.compile(ap, `${path}.additionalProperties`);
    return list.length === 0 && additional === ANY.value ? ANY.obj : this.b.obj(list, additional);
  }

  private ref(r: unknown, path: string): GNode {
    if (typeof r !== "string") throw new QwenrtError(path, "must be a string");
    const known = this.refs.get(r);
    if (known !== undefined) return known;
    const m = /^#\/(\$defs|definitions)\/([^/]+)$/.exec(r);
    if (m === null) throw new QwenrtError(path, `only "#", "#/$defs/NAME" and "#/definitions/NAME" references are supported, got ${JSON.stringify(r)}`);
    const name = m[2].replace(/~1/g, "/").replace(/~0/g, "~");
    const defs = isObject(this.root) ? this.root[m[1]] : undefined;
    if (!isObject(defs) || !(name in defs)) throw new QwenrtError(path, `${JSON.stringify(r)} does not resolve to a definition`);
    const defPath = `${this.where}.${m[1]}.${name}`;
    const node = this.b.ref(defPath);
    this.refs.set(r, node);
    node.target = this.compile(defs[name], defPath);
    return node;
  }
}

function count(v: unknown, path: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw new QwenrtError(path, `must be a non-negative integer, got ${JSON.stringify(v)}`);
  return v;
}

/** Whether a JSON value has JSON Schema type `t`. */
export function jsonTypeMatches(v: unknown, t: string): boolean {
  switch (t) {
    case "null": return v === null;
    case "boolean": return typeof v === "boolean";
    case "number": return typeof v === "number";
    case "integer": return typeof v === "number" && Number.isInteger(v);
    case "string": return typeof v === "string";
    case "array": return Array.isArray(v);
    default: return isObject(v);
  }
}

/**
 * Reject schemas with a node that admits no finite value (e.g. a required property that recursively
 * requires itself): generation could never finish once it entered that branch.
 */
function checkProductive(root: GNode): void {
  const all: GNode[] = [];
  collect(root, new Set(), all);
  const ok = new Set<number>();
  for (let changed = true; changed; ) {
    changed = false;
    for (const n of all) {
      if (ok.has(n.id)) continue;
      let p: boolean;
      switch (n.k) {
        case "obj": p = n.props.every((x) => !x.required || ok.has(x.value.id)); break;
        case "arr": p = n.minItems === 0 || ok.has(n.items.id); break;
        case "seq": p = n.items.every((x) => ok.has(x.id)); break;
        case "alt": p = n.options.some((x) => ok.has(x.id)); break;
        case "ref": p = n.target !== null && ok.has(n.target.id); break;
        default: p = true;
      }
      if (p) {
        ok.add(n.id);
        changed = true;
      }
    }
  }
  const bad = all.filter((n) => !ok.has(n.id));
  if (bad.length > 0) {
    // Name the innermost unproductive reference (the root's own reference is the least specific).
    const refs = bad.flatMap((n) => (n.k === "ref" ? [n.where] : [])).sort((a, b) => b.length - a.length);
    throw new QwenrtError(refs[0] ?? "schema", "recursive schema admits no finite value (a required property or minItems recursion never ends)");
  }
}
