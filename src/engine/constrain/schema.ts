// JSON Schema → constraint grammar. Everything zod (v3 and v4), pydantic and OpenAI's strict mode
// emit is enforced token by token: types, properties / required / additionalProperties /
// propertyNames, items / prefixItems / minItems / maxItems, enum / const, anyOf / oneOf / allOf,
// $ref / $defs (recursive too), nullable, minLength / maxLength, pattern, format, numeric bounds and
// multipleOf. What has no exact grammar (uniqueItems, an overlapping oneOf, a pattern with a
// backreference, `not`, …) is listed as unenforced: the output is checked after generation.
// Malformed schemas and unknown keywords throw a QwenrtError naming the keyword's path.
import { QwenrtError } from "../../util/errors.js";
import { isObject } from "../../util/json.js";
import { AutomatonTooLarge, type Dfa, product } from "./dfa.js";
import { formatDfa } from "./formats.js";
import { ANY, type GNode, type GrammarBuilder, type KeyConstraint, type RefNode, checkLeftRecursion } from "./grammar.js";
import { numberDfa } from "./numbers.js";
import { compilePattern, RegexUnsupported } from "./regex.js";
import { branchesDisjoint, checkProductive, literals } from "./schema-checks.js";
import { FALSE_SCHEMA, type Facets, type Part, asSchema, checkKeywords, emptyFacets, isTrivial, mergeFacets, without } from "./schema-facets.js";
import { validateJson } from "./validate.js";

/** A keyword the grammar does not enforce exactly; the output is checked against it afterwards. */
export interface Unenforced {
  /** The keyword's path, e.g. `response_format.json_schema.schema.properties.tags.uniqueItems`. */
  readonly where: string;
  readonly keyword: string;
  readonly reason: string;
}

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
  /** Receives the keywords that are checked after generation instead of enforced. */
  unenforced?: Unenforced[];
}

/** A `$ref` that stands alone in a conjunction (kept as a reference: recursion stays finite). */
interface RefPart {
  readonly ref: string;
  readonly path: string;
}

/** Most alternatives one schema may expand to (anyOf inside allOf multiplies branches). */
const MAX_EXPANSION = 512;

/**
 * Compile a JSON Schema into a grammar node built with `b`.
 *
 * @example
 * const root = compileSchema({ type: "object", properties: { a: { type: "integer", minimum: 0 } } }, new GrammarBuilder(), { where: "schema" });
 */
export function compileSchema(schema: unknown, b: GrammarBuilder, opts: SchemaOptions): GNode {
  checkSchemaSize(schema, opts.where);
  if (schema === false) throw new QwenrtError(opts.where, "schema `false` admits no value");
  const c = new SchemaCompiler(schema, b, opts.where, opts.strict ?? true, opts.unenforced ?? []);
  const self = b.ref(opts.where);
  c.refs.set("#", self);
  self.target = c.all([{ s: asSchema(schema, opts.where), path: opts.where }], opts.where) ?? c.impossible(opts.where);
  checkLeftRecursion(self);
  checkProductive(self);
  return self;
}

class SchemaCompiler {
  readonly refs = new Map<string, RefNode>();
  private expansions = 0;

  constructor(
    private readonly root: unknown,
    private readonly b: GrammarBuilder,
    private readonly where: string,
    private readonly strict: boolean,
    private readonly unenforced: Unenforced[],
  ) {}

  impossible(path: string): never {
    throw new QwenrtError(path, "no value satisfies this schema");
  }

  private note(where: string, keyword: string, reason: string): void {
    if (!this.unenforced.some((u) => u.where === where)) this.unenforced.push({ where, keyword, reason });
  }

  /** The grammar of values satisfying every part; null when none can. */
  all(parts: readonly Part[], path: string): GNode | null {
    const flat = this.flatten(parts, []);
    if (flat.length === 0) return ANY.value;
    if (flat.length === 1 && "ref" in flat[0]) return this.ref(flat[0].ref, flat[0].path);
    const conj = this.inline(flat, []);
    const at = conj.findIndex((p) => p.s.anyOf !== undefined || p.s.oneOf !== undefined);
    return at >= 0 ? this.choose(conj, at, path) : this.facets(conj, path);
  }

  /** allOf, nullable and `$ref` with siblings become separate conjuncts; annotation-only parts go. */
  private flatten(parts: readonly Part[], out: (Part | RefPart)[]): (Part | RefPart)[] {
    for (const p of parts) {
      const { s, path } = p;
      checkKeywords(s, path);
      if (isTrivial(s)) continue;
      if (s.nullable !== undefined) {
        if (typeof s.nullable !== "boolean") throw new QwenrtError(`${path}.nullable`, "must be a boolean");
        const rest = without(s, "nullable");
        if (s.nullable && !isTrivial(rest)) this.flatten([{ s: { anyOf: [rest, { type: "null" }] }, path }], out);
        else if (!s.nullable) this.flatten([{ s: rest, path }], out);
        continue;
      }
      if (s.allOf !== undefined) {
        if (!Array.isArray(s.allOf) || s.allOf.length === 0) throw new QwenrtError(`${path}.allOf`, "must be a non-empty array of schemas");
        this.flatten([{ s: without(s, "allOf"), path }], out);
        this.flatten(s.allOf.map((x, i) => ({ s: asSchema(x, `${path}.allOf[${i}]`), path: `${path}.allOf[${i}]` })), out);
        continue;
      }
      if (s.$ref !== undefined) {
        if (typeof s.$ref !== "string") throw new QwenrtError(`${path}.$ref`, "must be a string");
        this.flatten([{ s: without(s, "$ref"), path }], out);
        out.push({ ref: s.$ref, path: `${path}.$ref` });
        continue;
      }
      out.push(p);
    }
    return out;
  }

  /** Replace references by their targets (a conjunction mixes them with other constraints). */
  private inline(flat: readonly (Part | RefPart)[], seen: readonly string[]): Part[] {
    const out: Part[] = [];
    for (const x of flat) {
      if (!("ref" in x)) {
        out.push(x);
        continue;
      }
      const { schema, path } = this.resolve(x.ref, x.path);
      if (seen.includes(x.ref)) throw new QwenrtError(path, "recursive $ref that consumes no input (left recursion)");
      out.push(...this.inline(this.flatten([{ s: asSchema(schema, path), path }], []), [...seen, x.ref]));
    }
    return out;
  }

  /** A reference within this document: "#", or a JSON pointer ("#/$defs/A", zod v3's "#/definitions/A/properties/b"). */
  private resolve(r: string, path: string): { schema: unknown; path: string } {
    if (r === "#") return { schema: this.root, path: this.where };
    if (!r.startsWith("#/")) throw new QwenrtError(path, `only "#" and "#/…" references within the schema are supported, got ${JSON.stringify(r)}`);
    let cur: unknown = this.root;
    const keys: string[] = [];
    for (const raw of r.slice(2).split("/")) {
      const key = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
      keys.push(key);
      cur = isObject(cur) && key in cur ? cur[key] : Array.isArray(cur) && /^\d+$/.test(key) ? cur[Number(key)] : undefined;
      if (cur === undefined) throw new QwenrtError(path, `${JSON.stringify(r)} does not resolve to a definition`);
    }
    return { schema: cur, path: `${this.where}.${keys.join(".")}` };
  }

  private ref(r: string, path: string): GNode {
    const known = this.refs.get(r);
    if (known !== undefined) return known;
    const target = this.resolve(r, path);
    if (target.schema === false) this.impossible(target.path);
    const node = this.b.ref(target.path);
    this.refs.set(r, node);
    node.target = this.all([{ s: asSchema(target.schema, target.path), path: target.path }], target.path) ?? this.impossible(target.path);
    return node;
  }

  /** anyOf / oneOf: one alternative per branch, each merged with the rest of the conjunction. */
  private choose(conj: readonly Part[], at: number, path: string): GNode | null {
    const p = conj[at];
    const key = p.s.anyOf !== undefined ? "anyOf" : "oneOf";
    const list = p.s[key];
    if (!Array.isArray(list) || list.length === 0) throw new QwenrtError(`${p.path}.${key}`, "must be a non-empty array of schemas");
    this.expansions += list.length;
    if (this.expansions > MAX_EXPANSION) throw new QwenrtError(`${p.path}.${key}`, `the schema expands to over ${MAX_EXPANSION} alternatives`);
    const rest = [...conj.slice(0, at), { s: without(p.s, key), path: p.path }, ...conj.slice(at + 1)];
    const options = list.flatMap((x, i) => {
      const branch = `${p.path}.${key}[${i}]`;
      if (x === false) return [];
      const n = this.all([...rest, { s: asSchema(x, branch), path: branch }], branch);
      return n === null ? [] : [n];
    });
    if (key === "oneOf" && !branchesDisjoint(list, this.root)) {
      this.note(`${p.path}.oneOf`, "oneOf", "branches may overlap: that exactly one matches is checked after generation");
    }
    return options.length === 0 ? null : this.b.alt(options);
  }

  private facets(conj: readonly Part[], path: string): GNode | null {
    if (conj.some((p) => p.s === FALSE_SCHEMA)) return null;
    const f = emptyFacets();
    for (const p of conj) mergeFacets(f, p);
    for (const c of f.checkedOnly) this.note(c.path, c.keyword, "no grammar for this keyword: checked after generation");
    if (f.values !== null) {
      // The listed values that meet every other constraint of the conjunction.
      const schema = { allOf: conj.map((p) => p.s) };
      const ok = f.values.filter((v) => validateJson(v, schema, this.root).length === 0);
      return ok.length === 0 ? null : this.b.alt(ok.map((v) => this.b.lit(JSON.stringify(v))));
    }
    if (f.types === null) return ANY.value;
    const types = f.types.includes("number") ? f.types.filter((t) => t !== "integer") : f.types;
    const nodes = types.flatMap((t) => {
      const n = this.typed(f, t, path);
      return n === null ? [] : [n];
    });
    return nodes.length === 0 ? null : this.b.alt(nodes);
  }

  private typed(f: Facets, t: string, path: string): GNode | null {
    switch (t) {
      case "object": return this.object(f, path);
      case "array": return this.array(f, path);
      case "string": return this.string(f, path);
      case "number": case "integer": return this.number(f, t === "integer", path);
      case "boolean": return this.b.alt([ANY.trueLit, ANY.falseLit]);
      default: return ANY.nullLit;
    }
  }

  private object(f: Facets, path: string): GNode | null {
    const names: string[] = [];
    for (const o of f.objects) for (const k of o.declared.keys()) if (!names.includes(k)) names.push(k);
    const declared = new Set(names);
    const explicit = f.objects.flatMap((o) => (o.additional === null ? [] : [o.additional]));
    const noExtras = explicit.includes(false) || (explicit.length === 0 && this.strict);
    const keys = this.keyConstraint(f.propertyNames, path);
    for (const r of f.required) if (!names.includes(r)) names.push(r);
    if (keys.values !== null) for (const v of keys.values) if (!names.includes(v)) names.push(v);
    const props: { name: string; value: GNode; required: boolean }[] = [];
    for (const name of names) {
      const required = f.required.has(name);
      const parts: Part[] = [];
      let allowed = (declared.has(name) || !noExtras || keys.values?.includes(name) === true) && keys.admits(name);
      for (const o of f.objects) {
        const d = o.declared.get(name);
        if (d !== undefined) parts.push(d);
        else if (o.additional === false) allowed = false;
        else if (o.additional !== null) parts.push(o.additional);
      }
      if (!allowed) {
        if (required) throw new QwenrtError(`${path}.required`, `required property ${JSON.stringify(name)} is not declared in "properties"`);
        continue;
      }
      const value = parts.length === 0 ? ANY.value : this.all(parts, parts[0].path);
      if (value === null) {
        if (required) return null;
        continue;
      }
      props.push({ name, value, required });
    }
    let additional: GNode | null = null;
    if (!noExtras && keys.values === null) {
      const extra = explicit.filter((x): x is Part => x !== false);
      additional = extra.length === 0 ? ANY.value : this.all(extra, extra[0].path);
    }
    const requiredCount = props.filter((p) => p.required).length;
    if (f.minProperties > requiredCount) this.note(`${path}.minProperties`, "minProperties", "checked after generation");
    if (f.maxProperties !== undefined && (props.length > f.maxProperties || additional !== null)) {
      this.note(`${path}.maxProperties`, "maxProperties", "checked after generation");
    }
    if (props.length === 0 && additional === ANY.value && keys.key === undefined) return ANY.obj;
    return this.b.obj(props, additional, keys.key);
  }

  /** What `propertyNames` asks of keys: a list of names (enum) or string constraints for extra keys. */
  private keyConstraint(parts: readonly Part[], path: string): { values: string[] | null; key: KeyConstraint | undefined; admits: (k: string) => boolean } {
    if (parts.length === 0) return { values: null, key: undefined, admits: () => true };
    const f = emptyFacets();
    for (const p of this.inline(this.flatten(parts, []), [])) {
      if (p.s.anyOf !== undefined || p.s.oneOf !== undefined) this.note(`${p.path}`, "propertyNames", "alternatives for property names are checked after generation");
      else mergeFacets(f, p);
    }
    const schema = { allOf: parts.map((p) => p.s) };
    const admits = (k: string): boolean => validateJson(k, schema, this.root).length === 0;
    if (f.values !== null) return { values: f.values.filter((v): v is string => typeof v === "string" && admits(v)), key: undefined, admits };
    const dfa = this.stringDfa(f);
    return { values: null, key: { minLength: f.minLength, maxLength: f.maxLength, dfa }, admits };
  }

  private array(f: Facets, path: string): GNode | null {
    if (f.maxItems !== undefined && f.maxItems < f.minItems) throw new QwenrtError(`${path}.maxItems`, `must be >= minItems (${f.minItems}), got ${f.maxItems}`);
    let max = f.maxItems;
    const prefix: GNode[] = [];
    for (const parts of f.prefix) {
      const n = this.all(parts, parts[0].path);
      if (n === null) {
        max = Math.min(max ?? Infinity, prefix.length);
        break;
      }
      prefix.push(n);
    }
    let items: GNode | null = f.items === false ? null : f.items.length === 0 ? ANY.value : this.all(f.items, f.items[0].path);
    if (items === null) max = Math.min(max ?? Infinity, prefix.length);
    // A tuple is written in full (its validators usually require every position).
    // uniqueItems over a few literals is exact (each value at most once); otherwise it is checked afterwards.
    const lits = f.uniqueItems && prefix.length === 0 && items !== null ? literals(items) : null;
    if (lits !== null) max = Math.min(max ?? Infinity, lits.length);
    const min = Math.max(f.minItems, Math.min(prefix.length, max ?? Infinity));
    if (max !== undefined && max < min) return null;
    if (f.uniqueItems && lits === null && (max === undefined || max > 1)) this.note(`${path}.uniqueItems`, "uniqueItems", "checked after generation");
    items ??= ANY.value;
    if (prefix.length === 0 && min === 0 && max === undefined && items === ANY.value) return ANY.arr;
    return this.b.arr(items, min, max, prefix.slice(0, max ?? prefix.length), lits);
  }

  private string(f: Facets, path: string): GNode | null {
    if (f.maxLength !== undefined && f.maxLength < f.minLength) throw new QwenrtError(`${path}.maxLength`, `must be >= minLength (${f.minLength}), got ${f.maxLength}`);
    const dfa = this.stringDfa(f);
    if (dfa !== null) {
      if (dfa.states === 0) return null;
      if ((f.maxLength !== undefined && dfa.minChars[0] > f.maxLength) || dfa.maxChars[0] < f.minLength) return null;
    }
    if (f.minLength === 0 && f.maxLength === undefined && dfa === null) return ANY.str;
    return this.b.str(f.minLength, f.maxLength, null, dfa);
  }

  /** The intersection of a string's patterns and formats (those without an automaton are noted). */
  private stringDfa(f: Facets): Dfa | null {
    let dfa: Dfa | null = null;
    const add = (make: () => Dfa | undefined, where: string, keyword: string, what: string): void => {
      try {
        const d = make();
        if (d === undefined) return this.note(where, keyword, `${what} is not known here: neither enforced nor checked`);
        dfa = dfa === null ? d : product(dfa, d, "and");
      } catch (e) {
        if (e instanceof SyntaxError) throw new QwenrtError(where, `invalid regular expression: ${e.message}`);
        if (e instanceof RegexUnsupported || e instanceof AutomatonTooLarge) return this.note(where, keyword, `${e.message}: checked after generation`);
        throw e;
      }
    };
    for (const fm of f.formats) add(() => formatDfa(fm.name), fm.path, "format", `format ${JSON.stringify(fm.name)}`);
    for (const p of f.patterns) add(() => compilePattern(p.source), p.path, "pattern", "pattern");
    return dfa;
  }

  private number(f: Facets, integer: boolean, path: string): GNode | null {
    if (f.lo === undefined && f.hi === undefined && f.multipleOf.length === 0) return integer ? this.b.num(true) : ANY.num;
    const base = { integer, ...(f.lo === undefined ? {} : { lo: f.lo }), ...(f.hi === undefined ? {} : { hi: f.hi }) };
    const [m, ...more] = f.multipleOf;
    for (const x of more) this.note(x.path, "multipleOf", "a second multipleOf is checked after generation");
    if (m !== undefined && !Number.isInteger(m.value)) {
      this.note(m.path, "multipleOf", "enforced and checked in decimal, as JSON Schema defines it; validators that divide binary floating-point numbers may disagree");
    }
    const attempt = (withMultiple: boolean): GNode | null => {
      try {
        return this.b.dfa(numberDfa(withMultiple && m !== undefined ? { ...base, multipleOf: m.value } : base));
      } catch (e) {
        if (e instanceof RangeError && /no number/.test(e.message)) return null;
        if (withMultiple && m !== undefined && (e instanceof RangeError || e instanceof AutomatonTooLarge)) {
          this.note(m.path, "multipleOf", `${e.message}: checked after generation`);
          return attempt(false);
        }
        if (e instanceof AutomatonTooLarge) throw new QwenrtError(path, e.message);
        throw e;
      }
    };
    return attempt(true);
  }
}
