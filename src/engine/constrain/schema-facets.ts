// A JSON Schema as a conjunction: `allOf`, `$ref` with siblings and `nullable` are flattened into a
// list of schema objects that must all hold, and a list without `anyOf`/`oneOf` is merged into one
// set of facets per JSON type (types intersected, properties and their schemas collected, bounds
// tightened, patterns and formats listed). schema.ts turns facets into grammar nodes.
import { QwenrtError } from "../../util/errors.js";
import { isObject } from "../../util/json.js";
import type { NumberBound } from "./numbers.js";

/** One schema object of a conjunction, with its path for error messages. */
export interface Part {
  readonly s: Record<string, unknown>;
  readonly path: string;
}

/** Keywords that only annotate and never constrain output. */
export const ANNOTATIONS = new Set([
  "title", "description", "default", "examples", "example", "$schema", "$id", "id", "$comment", "deprecated", "readOnly",
  "writeOnly", "$defs", "definitions", "discriminator", "contentEncoding", "contentMediaType", "contentSchema", "$anchor",
  "strict", "markdownDescription", "enumDescriptions", "externalDocs", "xml",
]);
/** Keywords enforced by the grammar (exactly, or checked afterwards where schema.ts says so). */
export const KEYWORDS = new Set([
  "type", "properties", "required", "additionalProperties", "items", "prefixItems", "additionalItems", "minItems", "maxItems",
  "uniqueItems", "enum", "const", "anyOf", "oneOf", "allOf", "$ref", "minLength", "maxLength", "pattern", "format", "nullable",
  "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "propertyNames", "minProperties", "maxProperties",
]);
/** Keywords no grammar here expresses: generation ignores them and the output is checked afterwards. */
export const CHECKED_ONLY = new Set([
  "not", "if", "then", "else", "contains", "minContains", "maxContains", "patternProperties", "dependentRequired",
  "dependentSchemas", "dependencies", "unevaluatedProperties", "unevaluatedItems",
]);
export const TYPES = new Set(["object", "array", "string", "number", "integer", "boolean", "null"]);

/** The merged constraints of a conjunction without alternatives. */
export interface Facets {
  types: string[] | null;
  values: unknown[] | null;
  /** Per conjunct that speaks about objects: its declared names, their schemas, and what extras must be. */
  objects: { declared: Map<string, Part>; additional: Part | false | null }[];
  required: Set<string>;
  propertyNames: Part[];
  minProperties: number;
  maxProperties: number | undefined;
  prefix: Part[][];
  items: Part[] | false;
  minItems: number;
  maxItems: number | undefined;
  uniqueItems: boolean;
  minLength: number;
  maxLength: number | undefined;
  patterns: { source: string; path: string }[];
  formats: { name: string; path: string }[];
  lo: NumberBound | undefined;
  hi: NumberBound | undefined;
  multipleOf: { value: number; path: string }[];
  /** Keywords seen that only a check after generation covers. */
  checkedOnly: { keyword: string; path: string }[];
}

export function emptyFacets(): Facets {
  return {
    types: null, values: null, objects: [], required: new Set(), propertyNames: [], minProperties: 0, maxProperties: undefined,
    prefix: [], items: [], minItems: 0, maxItems: undefined, uniqueItems: false, minLength: 0, maxLength: undefined,
    patterns: [], formats: [], lo: undefined, hi: undefined, multipleOf: [], checkedOnly: [],
  };
}

function count(v: unknown, path: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw new QwenrtError(path, `must be a non-negative integer, got ${JSON.stringify(v)}`);
  return v;
}

function finite(v: unknown, path: string): number {
  if (typeof v !== "number" || !Number.isFinite(v)) throw new QwenrtError(path, `must be a number, got ${JSON.stringify(v)}`);
  return v;
}

const tighterLo = (a: NumberBound | undefined, b: NumberBound): NumberBound =>
  a === undefined || b.value > a.value || (b.value === a.value && b.exclusive) ? b : a;
const tighterHi = (a: NumberBound | undefined, b: NumberBound): NumberBound =>
  a === undefined || b.value < a.value || (b.value === a.value && b.exclusive) ? b : a;

/** Types a schema without `type` implies through its keywords (null: any type). */
function impliedTypes(s: Record<string, unknown>): string[] | null {
  const t: string[] = [];
  if (["properties", "required", "additionalProperties", "propertyNames", "minProperties", "maxProperties"].some((k) => k in s)) t.push("object");
  if (["items", "prefixItems", "minItems", "maxItems", "uniqueItems"].some((k) => k in s)) t.push("array");
  if (["minLength", "maxLength", "pattern", "format"].some((k) => k in s)) t.push("string");
  if (["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"].some((k) => k in s)) t.push("number");
  return t.length === 0 ? null : t;
}

function typesOf(s: Record<string, unknown>, path: string): string[] | null {
  if (s.type === undefined) return impliedTypes(s);
  const list = typeof s.type === "string" ? [s.type] : s.type;
  if (!Array.isArray(list) || list.length === 0) throw new QwenrtError(`${path}.type`, "must be a type name or a non-empty array of them");
  for (const x of list) if (typeof x !== "string" || !TYPES.has(x)) throw new QwenrtError(`${path}.type`, `unknown type ${JSON.stringify(x)}`);
  return [...new Set(list as string[])];
}

/** Intersect type lists (integer is a kind of number). */
function intersectTypes(a: string[] | null, b: string[] | null): string[] | null {
  if (a === null) return b;
  if (b === null) return a;
  const out: string[] = [];
  for (const t of a) {
    if (b.includes(t)) out.push(t);
    else if (t === "integer" && b.includes("number")) out.push("integer");
    else if (t === "number" && b.includes("integer")) out.push("integer");
  }
  return [...new Set(out)];
}

/**
 * Merge one conjunct (no anyOf/oneOf/allOf/$ref left) into `f`.
 */
export function mergeFacets(f: Facets, part: Part): void {
  const { s, path } = part;
  f.types = intersectTypes(f.types, typesOf(s, path));
  if (s.const !== undefined || s.enum !== undefined) {
    let vals: unknown[];
    if (s.const !== undefined) vals = [s.const];
    else {
      if (!Array.isArray(s.enum) || s.enum.length === 0) throw new QwenrtError(`${path}.enum`, "must be a non-empty array");
      vals = [...s.enum];
    }
    f.values = f.values === null ? vals : f.values.filter((v) => vals.some((w) => JSON.stringify(w) === JSON.stringify(v)));
  }
  if (s.properties !== undefined || s.additionalProperties !== undefined || s.required !== undefined) {
    const props = s.properties ?? {};
    if (!isObject(props)) throw new QwenrtError(`${path}.properties`, "must be an object mapping names to schemas");
    const declared = new Map(Object.entries(props).map(([k, v]) => [k, { s: asSchema(v, `${path}.properties.${k}`), path: `${path}.properties.${k}` }]));
    const ap = s.additionalProperties;
    const additional = ap === undefined ? null : ap === false ? false : { s: asSchema(ap, `${path}.additionalProperties`), path: `${path}.additionalProperties` };
    f.objects.push({ declared, additional });
  }
  if (s.required !== undefined) {
    if (!Array.isArray(s.required) || !s.required.every((r) => typeof r === "string")) throw new QwenrtError(`${path}.required`, "must be an array of property names");
    for (const r of s.required) f.required.add(r);
  }
  if (s.propertyNames !== undefined) f.propertyNames.push({ s: asSchema(s.propertyNames, `${path}.propertyNames`), path: `${path}.propertyNames` });
  f.minProperties = Math.max(f.minProperties, count(s.minProperties, `${path}.minProperties`) ?? 0);
  const maxP = count(s.maxProperties, `${path}.maxProperties`);
  if (maxP !== undefined) f.maxProperties = Math.min(f.maxProperties ?? Infinity, maxP);
  mergeArray(f, s, path);
  f.minLength = Math.max(f.minLength, count(s.minLength, `${path}.minLength`) ?? 0);
  const maxL = count(s.maxLength, `${path}.maxLength`);
  if (maxL !== undefined) f.maxLength = Math.min(f.maxLength ?? Infinity, maxL);
  if (s.pattern !== undefined) {
    if (typeof s.pattern !== "string") throw new QwenrtError(`${path}.pattern`, "must be a string");
    f.patterns.push({ source: s.pattern, path: `${path}.pattern` });
  }
  if (s.format !== undefined) {
    if (typeof s.format !== "string") throw new QwenrtError(`${path}.format`, "must be a string");
    f.formats.push({ name: s.format, path: `${path}.format` });
  }
  mergeNumber(f, s, path);
  for (const k of Object.keys(s)) if (CHECKED_ONLY.has(k)) f.checkedOnly.push({ keyword: k, path: `${path}.${k}` });
}

function mergeArray(f: Facets, s: Record<string, unknown>, path: string): void {
  const tuple = Array.isArray(s.prefixItems) ? { list: s.prefixItems, key: "prefixItems" } : Array.isArray(s.items) ? { list: s.items, key: "items" } : undefined;
  tuple?.list.forEach((x, i) => {
    (f.prefix[i] ??= []).push({ s: asSchema(x, `${path}.${tuple.key}[${i}]`), path: `${path}.${tuple.key}[${i}]` });
  });
  const rest = Array.isArray(s.items) ? { v: s.additionalItems, key: "additionalItems" } : { v: s.items, key: "items" };
  if (rest.v === false) f.items = false;
  else if (rest.v !== undefined && rest.v !== true && f.items !== false) f.items.push({ s: asSchema(rest.v, `${path}.${rest.key}`), path: `${path}.${rest.key}` });
  f.minItems = Math.max(f.minItems, count(s.minItems, `${path}.minItems`) ?? 0);
  const maxI = count(s.maxItems, `${path}.maxItems`);
  if (maxI !== undefined) f.maxItems = Math.min(f.maxItems ?? Infinity, maxI);
  if (s.uniqueItems === true) f.uniqueItems = true;
}

function mergeNumber(f: Facets, s: Record<string, unknown>, path: string): void {
  const { minimum, maximum, exclusiveMinimum: xmin, exclusiveMaximum: xmax } = s;
  if (minimum !== undefined) f.lo = tighterLo(f.lo, { value: finite(minimum, `${path}.minimum`), exclusive: xmin === true });
  if (maximum !== undefined) f.hi = tighterHi(f.hi, { value: finite(maximum, `${path}.maximum`), exclusive: xmax === true });
  // Draft 6+: the exclusive bounds are numbers; draft 4's booleans were read above.
  if (xmin !== undefined && typeof xmin !== "boolean") f.lo = tighterLo(f.lo, { value: finite(xmin, `${path}.exclusiveMinimum`), exclusive: true });
  if (xmax !== undefined && typeof xmax !== "boolean") f.hi = tighterHi(f.hi, { value: finite(xmax, `${path}.exclusiveMaximum`), exclusive: true });
  if (s.multipleOf !== undefined) {
    const m = finite(s.multipleOf, `${path}.multipleOf`);
    if (m <= 0) throw new QwenrtError(`${path}.multipleOf`, `must be > 0, got ${m}`);
    f.multipleOf.push({ value: m, path: `${path}.multipleOf` });
  }
}

/** The schema `false` as an object (compiled as "no value"). */
export const FALSE_SCHEMA: Readonly<Record<string, unknown>> = Object.freeze({ not: {} });

/** A subschema as an object (`true` → `{}`, `false` → FALSE_SCHEMA). */
export function asSchema(v: unknown, path: string): Record<string, unknown> {
  if (v === true) return {};
  if (v === false) return FALSE_SCHEMA;
  if (!isObject(v)) throw new QwenrtError(path, `must be a JSON Schema object or boolean, got ${JSON.stringify(v)}`);
  return v;
}

/** Check every keyword is known; unknown ones throw (a typo must not silently weaken the grammar). */
export function checkKeywords(s: Record<string, unknown>, path: string): void {
  for (const k of Object.keys(s)) {
    if (ANNOTATIONS.has(k) || KEYWORDS.has(k) || CHECKED_ONLY.has(k) || k.startsWith("x-")) continue;
    throw new QwenrtError(`${path}.${k}`, `JSON Schema keyword "${k}" is not supported for constrained decoding`);
  }
}

/** Whether a schema object constrains nothing (annotations only). */
export function isTrivial(s: Record<string, unknown>): boolean {
  return Object.keys(s).every((k) => ANNOTATIONS.has(k) || k.startsWith("x-"));
}

/** A copy of `s` without the keys `drop`. */
export function without(s: Record<string, unknown>, ...drop: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(s).filter(([k]) => !drop.includes(k)));
}
