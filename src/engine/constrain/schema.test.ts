// The keywords libraries emit, through the matcher: bounds as digit automata (checked against
// exact decimal comparison on random numbers), patterns and formats inside JSON strings, allOf /
// $ref siblings / tuples / records, and what is noted as checked after generation.
import { test } from "node:test";
import assert from "node:assert/strict";
import { GrammarBuilder } from "./grammar.js";
import { matchBytes } from "./alts.js";
import { numberDfa, toDecimal } from "./numbers.js";
import { dfaMatches } from "./dfa.js";
import { compileSchema, type Unenforced } from "./schema.js";
import { isMultipleOf, validateJson } from "./validate.js";
import { rng } from "../../../test/helpers/rng.js";

const enc = new TextEncoder();

function run(schema: unknown, text: string, strict = true): string {
  const root = compileSchema(schema, new GrammarBuilder(), { where: "schema", strict });
  const r = matchBytes(root, enc.encode(text));
  return r.complete ? "complete" : r.alive ? "partial" : "reject";
}

function notes(schema: unknown): Unenforced[] {
  const unenforced: Unenforced[] = [];
  compileSchema(schema, new GrammarBuilder(), { where: "schema", unenforced });
  return unenforced;
}

/** Compare decimal strings exactly (BigInt on a common scale). */
function cmp(a: string, b: string): number {
  const parse = (s: string): [bigint, number] => {
    const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(s) as RegExpExecArray;
    const frac = m[3] ?? "";
    return [BigInt(`${m[1]}${m[2]}${frac}`), frac.length];
  };
  const [x, fx] = parse(a);
  const [y, fy] = parse(b);
  const e = Math.max(fx, fy);
  const X = x * 10n ** BigInt(e - fx);
  const Y = y * 10n ** BigInt(e - fy);
  return X < Y ? -1 : X > Y ? 1 : 0;
}

const plain = (x: number): string => {
  const d = toDecimal(x);
  return `${d.neg ? "-" : ""}${d.int}${d.frac === "" ? "" : `.${d.frac}`}`;
};

test("toDecimal writes the exact digits of a double's shortest form", () => {
  assert.deepEqual(toDecimal(-1.5e-3), { neg: true, int: "0", frac: "0015" });
  assert.deepEqual(toDecimal(1e21), { neg: false, int: "1000000000000000000000", frac: "" });
  assert.deepEqual(toDecimal(9007199254740991), { neg: false, int: "9007199254740991", frac: "" });
  assert.deepEqual(toDecimal(-0), { neg: false, int: "0", frac: "" });
  assert.ok(isMultipleOf(0.07, 0.01) && isMultipleOf(1.5, 0.5) && !isMultipleOf(1.55, 0.1) && isMultipleOf(10, 5));
});

test("numeric bounds are exact in decimal: random bounds, random numbers, both signs, exclusive too", () => {
  const r = rng(11);
  const pick = (): number => {
    const scale = [1, 10, 1000, 0.01][Math.floor(r() * 4)];
    return Math.round((r() * 2 - 1) * 500 * scale) / (r() < 0.5 ? 1 : 100);
  };
  for (let k = 0; k < 60; k++) {
    const a = pick();
    const b = pick();
    const lo = { value: Math.min(a, b), exclusive: r() < 0.5 };
    const hi = { value: Math.max(a, b), exclusive: r() < 0.5 };
    const integer = r() < 0.4;
    let d;
    try {
      d = numberDfa({ integer, lo, hi });
    } catch (e) {
      assert.ok(e instanceof RangeError, String(e)); // an empty range (e.g. exclusive equal bounds)
      continue;
    }
    for (let j = 0; j < 60; j++) {
      const x = j < 4 ? [lo.value, hi.value, Math.ceil(lo.value), Math.floor(hi.value)][j] : pick();
      for (const text of [plain(x), `${plain(x)}${Number.isInteger(x) ? ".0" : "0"}`]) {
        const inRange = (lo.exclusive ? cmp(text, plain(lo.value)) > 0 : cmp(text, plain(lo.value)) >= 0) && (hi.exclusive ? cmp(text, plain(hi.value)) < 0 : cmp(text, plain(hi.value)) <= 0);
        const want = inRange && (!integer || /^-?\d+$/.test(text));
        assert.equal(dfaMatches(d, enc.encode(text)), want, `${text} in ${JSON.stringify({ integer, lo, hi })}`);
      }
    }
  }
});

test("integers within bounds; zod's safe-integer range; multipleOf as a digit automaton", () => {
  const safe = { type: "integer", minimum: -9007199254740991, maximum: 9007199254740991 };
  assert.equal(run(safe, "9007199254740991"), "complete");
  assert.equal(run(safe, "9007199254740992"), "reject");
  assert.equal(run(safe, "-9007199254740991"), "complete");
  assert.equal(run({ type: "integer", minimum: 1, maximum: 100 }, "0"), "reject");
  assert.equal(run({ type: "integer", minimum: 1, maximum: 100 }, "100"), "complete");
  assert.equal(run({ type: "integer", exclusiveMinimum: 0 }, "0"), "reject");
  assert.equal(run({ type: "integer", exclusiveMinimum: 0 }, "-0"), "reject");
  assert.equal(run({ type: "number", exclusiveMinimum: 0 }, "0.000001"), "complete");
  assert.equal(run({ type: "number", exclusiveMinimum: 0 }, "0.0"), "partial"); // only 0.0…01 and on
  assert.equal(run({ type: "number", minimum: 0, maximum: 1 }, "1.0000"), "complete");
  assert.equal(run({ type: "number", minimum: 0, maximum: 1 }, "1.01"), "reject");
  assert.equal(run({ type: "number", minimum: 0 }, "1e3"), "reject"); // bounded: no exponent
  assert.equal(run({ type: "integer", multipleOf: 5 }, "35"), "complete");
  assert.equal(run({ type: "integer", multipleOf: 5 }, "36"), "partial"); // 360 is a multiple, 36 is not
  assert.equal(run({ type: "number", multipleOf: 0.25 }, "1.75"), "complete");
  assert.equal(run({ type: "number", multipleOf: 0.25 }, "1.3"), "reject"); // no 1.3x is a multiple
  assert.equal(run({ type: "number", multipleOf: 0.01, minimum: 0, maximum: 1 }, "0.07"), "complete");
  // A fractional step is exact in decimal; the note says binary floating-point validators may differ.
  assert.match(notes({ type: "number", multipleOf: 0.01, minimum: 0, maximum: 1 })[0]?.reason ?? "", /in decimal/);
  assert.deepEqual(notes({ type: "integer", multipleOf: 5 }), []);
  assert.equal(notes({ type: "integer", multipleOf: 123457 })[0]?.keyword, "multipleOf");
});

test("unbounded numbers stay finite doubles: at most two exponent digits", () => {
  assert.equal(run({ type: "number" }, "6E+43"), "complete");
  assert.equal(run({ type: "number" }, "6E+439"), "reject");
  assert.ok(Number.isFinite(Number("9999999999999999.9999999999999999e+99")));
});

test("patterns, formats and lengths combine inside JSON strings", () => {
  const code = { type: "string", pattern: "^[A-Z]{3}-\\d+$", maxLength: 6 };
  assert.equal(run(code, '"ABC-12"'), "complete");
  assert.equal(run(code, '"ABC-123"'), "reject"); // too long
  assert.equal(run(code, '"ABC-1'), "partial");
  assert.equal(run({ type: "string", pattern: "^a.c$" }, '"a\\"c"'), "complete");
  assert.equal(run({ type: "string", format: "date" }, '"2024-02-29"'), "complete");
  assert.equal(run({ type: "string", format: "date" }, '"2023-02-29"'), "reject");
  assert.equal(run({ type: "string", format: "email", pattern: "@example\\.com$" }, '"a@example.com"'), "complete");
  assert.equal(run({ type: "string", format: "email", pattern: "@example\\.com$" }, '"a@example.org"'), "reject");
  // A pattern that cannot meet the length bounds is unsatisfiable; one that can is cut to fit.
  assert.throws(() => run({ type: "string", pattern: "^\\d{5}$", maxLength: 3 }, '"1"'), /no value satisfies/);
  const short = { type: "string", pattern: "^x+$", minLength: 2, maxLength: 3 };
  assert.equal(run(short, '"x"'), "reject");
  assert.equal(run(short, '"xxx"'), "complete");
  assert.equal(run(short, '"xxxx'), "reject");
});

test("allOf, $ref with siblings, nullable refs, tuples and records merge into one grammar", () => {
  const defs = { $defs: { Base: { type: "object", properties: { id: { type: "integer" } }, required: ["id"] } } };
  const ext = { ...defs, allOf: [{ $ref: "#/$defs/Base" }, { type: "object", properties: { name: { type: "string" } }, required: ["name"] }] };
  assert.equal(run(ext, '{"id": 1, "name": "x"}', false), "complete");
  assert.equal(run(ext, '{"id": 1}', false), "reject");
  const sib = { ...defs, $ref: "#/$defs/Base", description: "just a note" };
  assert.equal(run(sib, '{"id": 2}'), "complete");
  const nullable = { ...defs, type: "object", properties: { b: { anyOf: [{ $ref: "#/$defs/Base" }, { type: "null" }] } }, required: ["b"] };
  assert.equal(run(nullable, '{"b": null}'), "complete");
  const tuple = { type: "array", prefixItems: [{ type: "string" }, { type: "number" }], items: false, minItems: 2, maxItems: 2 };
  assert.equal(run(tuple, '["a", 1]'), "complete");
  assert.equal(run(tuple, '["a"]'), "reject");
  assert.equal(run(tuple, '["a", 1, 2]'), "reject");
  const record = { type: "object", propertyNames: { type: "string", enum: ["a", "b"] }, additionalProperties: { type: "number" }, required: ["a", "b"] };
  assert.equal(run(record, '{"a": 1, "b": 2}'), "complete");
  assert.equal(run(record, '{"a": 1, "c": 2}'), "reject");
  const keys = { type: "object", propertyNames: { pattern: "^k\\d$" }, additionalProperties: { type: "boolean" } };
  assert.equal(run(keys, '{"k1": true}'), "complete");
  assert.equal(run(keys, '{"x1": true}'), "reject");
  // A closed object in an allOf keeps its meaning: the other part's property is not allowed.
  const closed = { allOf: [{ type: "object", properties: { a: { type: "null" } }, additionalProperties: false }, { properties: { b: { type: "null" } } }] };
  assert.equal(run(closed, '{"a": null, "b": null}', false), "reject");
  assert.equal(run(closed, '{"a": null}', false), "complete");
});

test("a oneOf is exact when branches are disjoint (types, constants, a discriminator); else it is noted", () => {
  const cat = { type: "object", properties: { kind: { const: "cat" }, lives: { type: "integer" } }, required: ["kind", "lives"] };
  const dog = { type: "object", properties: { kind: { const: "dog" }, good: { type: "boolean" } }, required: ["kind", "good"] };
  assert.deepEqual(notes({ oneOf: [cat, dog] }), []);
  assert.deepEqual(notes({ oneOf: [{ type: "string" }, { type: "integer" }] }), []);
  assert.equal(notes({ oneOf: [{ type: "number" }, { type: "integer" }] })[0]?.keyword, "oneOf");
  assert.equal(notes({ type: "array", items: { type: "string" }, uniqueItems: true })[0]?.where, "schema.uniqueItems");
  assert.equal(notes({ type: "string", pattern: "^(a)\\1$" })[0]?.keyword, "pattern");
  assert.equal(notes({ type: "string", format: "color" })[0]?.reason, 'format "color" is not known here: neither enforced nor checked');
  assert.equal(notes({ not: { type: "null" } })[0]?.keyword, "not");
});

test("uniqueItems over enum values is exact: each value at most once", () => {
  const tags = { type: "array", items: { enum: ["a", "b", "c"] }, uniqueItems: true };
  assert.equal(run(tags, '["a", "c"]'), "complete");
  assert.equal(run(tags, '["a", "b", "a"]'), "reject");
  assert.equal(run(tags, '["c", "b", "a"]'), "complete");
  assert.deepEqual(notes(tags), []);
  assert.throws(() => run({ ...tags, minItems: 4 }, "[]"), /no value satisfies/);
});

test("enum values are filtered by the rest of the conjunction", () => {
  assert.equal(run({ enum: [1, 5, 10], minimum: 4, maximum: 6 }, "5"), "complete");
  assert.equal(run({ enum: [1, 5, 10], minimum: 4, maximum: 6 }, "1"), "reject");
  assert.equal(run({ allOf: [{ enum: ["a", "b"] }, { enum: ["b", "c"] }] }, '"b"'), "complete");
  assert.equal(run({ allOf: [{ enum: ["a", "b"] }, { enum: ["b", "c"] }] }, '"a"'), "reject");
});

test("validateJson reports keyword and instance path", () => {
  const s = { type: "object", properties: { tags: { type: "array", uniqueItems: true }, n: { type: "integer", maximum: 3 } } };
  assert.deepEqual(validateJson({ tags: [1, 1], n: 2 }, s).map((v) => [v.path, v.keyword]), [["/tags", "uniqueItems"]]);
  assert.deepEqual(validateJson({ tags: [], n: 4 }, s).map((v) => [v.path, v.keyword]), [["/n", "maximum"]]);
  assert.deepEqual(validateJson("2023-02-29", { format: "date" }).map((v) => v.keyword), ["format"]);
});
