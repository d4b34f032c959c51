import { test } from "node:test";
import assert from "node:assert/strict";
import { QwenrtError } from "../../util/errors.js";
import { ANY, GrammarBuilder } from "./grammar.js";
import { matchBytes } from "./alts.js";
import { compileSchema } from "./schema.js";

const enc = new TextEncoder();

/** "complete" | "partial" (a valid prefix) | "reject". */
function run(schema: unknown, text: string | Uint8Array, strict = true): string {
  const root = compileSchema(schema, new GrammarBuilder(), { where: "schema", strict });
  const r = matchBytes(root, typeof text === "string" ? enc.encode(text) : text);
  return r.complete ? "complete" : r.alive ? "partial" : "reject";
}

function expectError(schema: unknown, where: string, re: RegExp): void {
  assert.throws(
    () => compileSchema(schema, new GrammarBuilder(), { where: "schema" }),
    (e: unknown) => e instanceof QwenrtError && e.where === where && re.test(e.message),
  );
}

const person = {
  type: "object",
  properties: {
    name: { type: "string" },
    age: { type: "integer" },
    email: { type: "string" },
  },
  required: ["name", "age"],
};

test("object matcher accepts declared order with optional single spaces and omitted optionals", () => {
  assert.equal(run(person, '{"name": "Bob", "age": 3}'), "complete");
  assert.equal(run(person, '{"name":"Bob","age":3,"email":"b@x"}'), "complete");
  assert.equal(run(person, '{"name": "Bob", "age": 3'), "partial");
  assert.equal(run(person, '{"name": "Bob"}'), "reject"); // missing required
  assert.equal(run(person, '{"age": 3}'), "reject"); // a required property cannot be skipped
  const optFirst = { type: "object", properties: { a: { type: "null" }, b: { type: "null" }, c: { type: "null" } }, required: ["b"] };
  assert.equal(run(optFirst, '{"b": null}'), "complete");
  assert.equal(run(optFirst, '{"a": null, "b": null, "c": null}'), "complete");
  assert.equal(run(optFirst, '{"a": null, "c": null}'), "reject");
  assert.equal(run(optFirst, "{}"), "reject");
  assert.equal(run(person, '{"age": 3, "name": "Bob"}'), "reject"); // declared order
  assert.equal(run(person, '{"name": "Bob", "age": 3, "x": 1}'), "reject"); // strict: no extras
  assert.equal(run(person, '{"name": "Bob", "age": 3, "x": 1}', false), "complete"); // non-strict
});

test("whitespace is limited to one space after colon and comma", () => {
  assert.equal(run(person, '{"name":  "Bob", "age": 3}'), "reject");
  assert.equal(run(person, '{ "name": "Bob", "age": 3}'), "reject");
  assert.equal(run(person, '{"name": "Bob",\n"age": 3}'), "reject");
  assert.equal(run(person, ' {"name": "Bob", "age": 3}'), "reject");
  assert.equal(run({ type: "array" }, "[1, 2,3]"), "complete");
  assert.equal(run({ type: "array" }, "[ 1]"), "reject");
});

test("numbers follow JSON syntax; integer forbids fraction and exponent; digits are capped", () => {
  for (const ok of ["0", "-0", "12", "1.5", "-1.25e+10", "3E2", "0.0e-1"]) assert.equal(run({ type: "number" }, ok), "complete", ok);
  for (const bad of ["01", "+1", ".5", "1.e3", "--1", "1e", "1x"]) assert.notEqual(run({ type: "number" }, bad), "complete", bad);
  assert.equal(run({ type: "number" }, "1."), "partial");
  assert.equal(run({ type: "integer" }, "-42"), "complete");
  assert.equal(run({ type: "integer" }, "1.0"), "reject");
  assert.equal(run({ type: "integer" }, "1e3"), "reject");
  assert.equal(run({ type: "integer" }, "1".repeat(16)), "complete");
  assert.equal(run({ type: "integer" }, "1".repeat(17)), "reject");
});

test("strings accept escapes and UTF-8, reject control bytes, bad escapes, surrogates, invalid UTF-8", () => {
  const s = { type: "string" };
  assert.equal(run(s, '"a\\"b\\\\c\\/\\b\\f\\n\\r\\t"'), "complete");
  assert.equal(run(s, '"\\u00e9\\uD7FF\\uE000"'), "complete");
  assert.equal(run(s, '"é中😀"'), "complete");
  assert.equal(run(s, '"\\x41"'), "reject");
  assert.equal(run(s, '"\\ud800"'), "reject"); // escaped surrogate halves are not generated
  assert.equal(run(s, '"\\uDB00"'), "reject");
  assert.equal(run(s, '"a\nb"'), "reject");
  assert.equal(run(s, Uint8Array.from([0x22, 0xc0, 0x80, 0x22])), "reject"); // overlong
  assert.equal(run(s, Uint8Array.from([0x22, 0xed, 0xa0, 0x80, 0x22])), "reject"); // UTF-8 surrogate
  assert.equal(run(s, Uint8Array.from([0x22, 0xe4, 0xb8, 0x22])), "reject"); // truncated char
  assert.equal(run(s, Uint8Array.from([0x22, 0xe4, 0xb8])), "partial");
});

test("string length counts code points, an escape as one", () => {
  const s = { type: "string", minLength: 2, maxLength: 3 };
  assert.equal(run(s, '"a"'), "reject");
  assert.equal(run(s, '"ab"'), "complete");
  assert.equal(run(s, '"😀é中"'), "complete");
  assert.equal(run(s, '"\\n\\u0041b"'), "complete");
  assert.equal(run(s, '"abcd"'), "reject");
});

test("arrays honour items, minItems and maxItems", () => {
  const a = { type: "array", items: { type: "boolean" }, minItems: 1, maxItems: 2 };
  assert.equal(run(a, "[]"), "reject");
  assert.equal(run(a, "[true]"), "complete");
  assert.equal(run(a, "[true, false]"), "complete");
  assert.equal(run(a, "[true, false, true]"), "reject");
  assert.equal(run(a, "[1]"), "reject");
  assert.equal(run({ type: "array", maxItems: 0 }, "[]"), "complete");
});

test("enum, const, anyOf, type arrays and nullable", () => {
  assert.equal(run({ enum: ["a", 1, null, { k: [1] }] }, '{"k":[1]}'), "complete");
  assert.equal(run({ enum: ["a", 1, null] }, '"b"'), "reject");
  assert.equal(run({ type: "string", enum: ["a", 1] }, "1"), "reject"); // enum filtered by type
  assert.equal(run({ const: "x" }, '"x"'), "complete");
  const u = { anyOf: [{ type: "integer" }, { type: "object", properties: { a: { type: "null" } }, required: ["a"] }] };
  assert.equal(run(u, "7"), "complete");
  assert.equal(run(u, '{"a": null}'), "complete");
  assert.equal(run(u, '"7"'), "reject");
  assert.equal(run({ type: ["string", "null"] }, "null"), "complete");
  assert.equal(run({ type: "boolean", nullable: true }, "null"), "complete");
  assert.equal(run({ type: "boolean" }, "null"), "reject");
});

test("additionalProperties: schema for extras, which may not reuse a declared name", () => {
  const o = { type: "object", properties: { id: { type: "integer" } }, additionalProperties: { type: "string" } };
  assert.equal(run(o, '{"id": 1, "x": "y"}'), "complete");
  assert.equal(run(o, '{"x": "y"}'), "complete");
  assert.equal(run(o, '{"x": 1}'), "reject");
  assert.equal(run(o, '{"id": 1, "id": "y"}'), "reject");
  assert.equal(run(o, '{"i\\u0064": "y"}'), "reject"); // same name through an escape
  assert.equal(run({ type: "object", additionalProperties: true }, '{"a": [1, {"b": null}], "c": "d"}'), "complete");
});

test("$ref to $defs, definitions and # supports recursion", () => {
  const tree = {
    $defs: { node: { type: "object", properties: { v: { type: "integer" }, kids: { type: "array", items: { $ref: "#/$defs/node" } } }, required: ["v", "kids"] } },
    $ref: "#/$defs/node",
  };
  assert.equal(run(tree, '{"v": 1, "kids": [{"v": 2, "kids": []}, {"v": 3, "kids": [{"v": 4, "kids": []}]}]}'), "complete");
  assert.equal(run(tree, '{"v": 1, "kids": [{"v": 2}]}'), "reject");
  const list = { type: "object", properties: { next: { anyOf: [{ $ref: "#" }, { type: "null" }] } }, required: ["next"] };
  assert.equal(run(list, '{"next": {"next": null}}'), "complete");
  const old = { definitions: { a: { type: "boolean" } }, type: "array", items: { $ref: "#/definitions/a" } };
  assert.equal(run(old, "[true]"), "complete");
  // zod v3's converter points into a definition's properties.
  const deep = { definitions: { W: { type: "object", properties: { c: { type: "integer" } } } }, type: "array", items: { $ref: "#/definitions/W/properties/c" } };
  assert.equal(run(deep, "[1, 2]"), "complete");
  assert.equal(run(deep, '["x"]'), "reject");
});

test("JSON object mode grammar accepts any object only", () => {
  const b = new GrammarBuilder();
  const root = b.seq([ANY.obj]);
  assert.equal(matchBytes(root, enc.encode('{"a": [1, "x", {"b": false}], "c": -1.5e3}')).complete, true);
  assert.equal(matchBytes(root, enc.encode("[1]")).alive, false);
  assert.equal(matchBytes(root, enc.encode('"x"')).alive, false);
});

test("invalid schemas throw QwenrtError naming the keyword path", () => {
  expectError({ type: "object", properties: { age: { type: "int" } } }, "schema.properties.age.type", /unknown type/);
  expectError({ type: "object", properties: { age: { type: "integer", minimun: 0 } } }, "schema.properties.age.minimun", /"minimun" is not supported/);
  expectError({ type: "string", pattern: "(a" }, "schema.pattern", /invalid regular expression/);
  expectError({ type: "object", properties: {}, required: ["x"] }, "schema.required", /not declared/);
  expectError({ $ref: "other.json#/a" }, "schema.$ref", /only "#"/);
  expectError({ $ref: "#/$defs/missing" }, "schema.$ref", /does not resolve/);
  expectError({ type: "array", minItems: 3, maxItems: 1 }, "schema.maxItems", /must be >= minItems/);
  expectError({ type: "integer", minimum: 2, maximum: 1 }, "schema", /no value satisfies/);
  expectError({ $defs: { a: { anyOf: [{ $ref: "#/$defs/a" }, { type: "null" }] } }, $ref: "#/$defs/a" }, "schema.$defs.a", /left recursion/);
  expectError(
    { $defs: { a: { type: "object", properties: { b: { $ref: "#/$defs/a" } }, required: ["b"] } }, $ref: "#/$defs/a" },
    "schema.$defs.a",
    /no finite value/,
  );
});

test("what was once rejected compiles: pattern, minimum, keywords beside anyOf, allOf of several, tuples", () => {
  assert.equal(run({ type: "string", pattern: "^a" }, '"abc"'), "complete");
  assert.equal(run({ type: "string", pattern: "^a" }, '"ba"'), "reject");
  assert.equal(run({ type: "object", properties: { age: { type: "integer", minimum: 0 } }, required: ["age"] }, '{"age": -1}'), "reject");
  assert.equal(run({ type: "string", anyOf: [{}] }, '"x"'), "complete");
  assert.equal(run({ type: "string", anyOf: [{}] }, "1"), "reject");
  assert.equal(run({ allOf: [{ type: "integer" }, { maximum: 3 }] }, "3"), "complete");
  assert.equal(run({ allOf: [{ type: "integer" }, { maximum: 3 }] }, "4"), "reject");
  assert.equal(run({ items: [{ type: "boolean" }] }, "[true]"), "complete");
  assert.equal(run({ items: [{ type: "boolean" }] }, "[1]"), "reject");
});

test("compileSchema: a schema past the depth or size limit is a QwenrtError naming the limit, not a stack overflow", () => {
  let deep: unknown = { type: "string" };
  for (let i = 0; i < 5_000; i++) deep = { type: "array", items: deep };
  expectError(deep, "schema", /nests deeper than 64 levels/);
  const wide = { type: "object", properties: Object.fromEntries(Array.from({ length: 30_000 }, (_, i) => [`p${i}`, { type: "integer" }])) };
  expectError(wide, "schema", /more than 20000 values/);
  let ok: unknown = { type: "string" };
  for (let i = 0; i < 30; i++) ok = { type: "array", items: ok };
  assert.equal(run(ok, "[".repeat(30) + '"x"' + "]".repeat(30)), "complete");
});

test("until: free text up to the first whole terminator, overlapping partial matches included", () => {
  const b = new GrammarBuilder();
  const root = b.seq([b.lit("<v>"), b.until("</ab>"), b.lit("!")]);
  const m = (t: string): string => {
    const r = matchBytes(root, enc.encode(t));
    return r.complete ? "complete" : r.alive ? "partial" : "reject";
  };
  assert.equal(m("<v></ab>!"), "complete"); // empty text
  assert.equal(m("<v>a < b </a </ab>!"), "complete");
  assert.equal(m("<v><</</ab>!"), "complete"); // "<" restarts a partial match
  assert.equal(m("<v>x</a"), "partial");
  assert.equal(m("<v>x</ab>"), "partial");
  assert.equal(m("<v>x</ab>y"), "reject"); // the text ended at the first terminator
  assert.equal(m("<v>x</ab></ab>!"), "reject");
});
