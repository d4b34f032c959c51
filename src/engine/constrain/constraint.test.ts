// Random-walk property tests over the real Qwen3 vocabulary: mask random logits, sample an allowed
// token, accept it, until complete; the text must parse and validate (validator below is independent
// of the matcher). Also: mask ⇔ accept agreement on every token for sampled states, tool-call format.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { QwenrtError } from "../../util/errors.js";
import { type Constraint, type ConstraintSpec, compileConstraint, createConstraint } from "./constraint.js";
import { hasBit } from "./mask.js";
import { validateJson } from "./validate.js";
import { prepareVocab, vocabFromTokenizerJson } from "./vocab.js";
import { rng } from "../../../test/helpers/rng.js";

const TOKENIZER = new URL("../../../test/fixtures/qwen3-tokenizer/tokenizer.json", import.meta.url);
const { tokenStrings, specialIds } = vocabFromTokenizerJson(JSON.parse(readFileSync(TOKENIZER, "utf8")));
const EOS = [151645, 151643];
const TOOL_CALL = 151657;
const TOOL_CALL_END = 151658;
const vocab = prepareVocab({ tokenStrings, specialIds, eosIds: EOS, vocabSize: 151936 });
const fatal = new TextDecoder("utf-8", { fatal: true });

// Token classes the sampler may favour so walks finish (closers) or exercise escapes / non-ASCII.
const closerIds: number[] = [];
const weirdIds: number[] = [];
tokenStrings.forEach((b, id) => {
  if (b.some((x) => x === 0x22 || x === 0x7d || x === 0x5d)) closerIds.push(id);
  if (b.some((x) => x === 0x5c || x >= 0x80)) weirdIds.push(id);
});

/** Every mask time measured by the walks in this file (reported by the last test). */
const allMaskMs: number[] = [];

interface WalkResult {
  ids: number[];
  text: string;
  maskMs: number[];
}

/** Sample allowed tokens from masked random logits until EOS is the only sensible continuation. */
function walk(c: Constraint, seed: number, opts: { maxSteps?: number; weird?: number; close?: number; goOn?: number } = {}): WalkResult {
  const r = rng(seed);
  const ids: number[] = [];
  const maskMs: number[] = [];
  const logits = new Float32Array(vocab.size);
  for (let s = 0; s < (opts.maxSteps ?? 600); s++) {
    for (let i = 0; i < logits.length; i++) logits[i] = r() * 4 - 2;
    const t0 = performance.now();
    c.mask(logits);
    maskMs.push(performance.now() - t0);
    allMaskMs.push(maskMs[maskMs.length - 1]);
    let allowed: number[] = [];
    for (let i = 0; i < logits.length; i++) if (logits[i] !== -Infinity) allowed.push(i);
    assert.ok(allowed.length > 0, "a live state must allow some token");
    const more = allowed.some((i) => !EOS.includes(i));
    if (c.isComplete()) for (const e of EOS) assert.ok(allowed.includes(e), "EOS allowed once complete");
    if (c.isComplete() && !(more && r() < (opts.goOn ?? 0))) {
      c.accept(EOS[0]);
      const bytes = ids.flatMap((id) => [...tokenStrings[id]]);
      return { ids, text: fatal.decode(Uint8Array.from(bytes)), maskMs };
    }
    if (!c.isComplete()) for (const e of EOS) assert.ok(!allowed.includes(e), "EOS not allowed before complete");
    // Mask and accept must agree: a few random disallowed tokens are rejected.
    for (let k = 0; k < 4; k++) {
      const id = Math.floor(r() * tokenStrings.length);
      if (logits[id] === -Infinity) assert.throws(() => c.fork().accept(id), QwenrtError);
    }
    if (c.isComplete()) allowed = allowed.filter((i) => !EOS.includes(i));
    const pickFrom = (cls: readonly number[]): number | undefined => {
      const sub = cls.filter((i) => logits[i] !== -Infinity);
      return sub.length === 0 ? undefined : sub[Math.floor(r() * sub.length)];
    };
    const u = r();
    let id: number | undefined;
    if (u < (opts.weird ?? 0)) id = pickFrom(weirdIds);
    else if (u < (opts.weird ?? 0) + (opts.close ?? 0.45)) id = pickFrom(closerIds);
    if (id === undefined) {
      // argmax of the masked logits: a "model" with random weights
      id = allowed[0];
      for (const i of allowed) if (logits[i] > logits[id]) id = i;
    }
    c.accept(id);
    ids.push(id);
  }
  assert.fail(`walk with seed ${seed} did not complete within ${opts.maxSteps ?? 600} tokens`);
}

type Schema = Record<string, unknown>;

/** Independent validator for the supported subset (draft 2020-12 semantics, oneOf = exactly one). */
function validate(v: unknown, s: unknown, root: Schema, path = "$"): string[] {
  if (s === true || (typeof s === "object" && s !== null && Object.keys(s).length === 0)) return [];
  const sc = s as Schema;
  const errs: string[] = [];
  const fail = (m: string): string[] => [`${path}: ${m} (${JSON.stringify(v)})`];
  if (sc.$ref !== undefined) {
    const ref = sc.$ref as string;
    const target = ref === "#" ? root : (root[ref.split("/")[1]] as Record<string, unknown>)[ref.split("/")[2]];
    if (sc.nullable === true && v === null) return [];
    return validate(v, target, root, path);
  }
  if (sc.nullable === true && v === null) return [];
  if (sc.anyOf !== undefined) return (sc.anyOf as unknown[]).some((x) => validate(v, x, root, path).length === 0) ? [] : fail("no anyOf branch");
  if (sc.oneOf !== undefined) {
    const n = (sc.oneOf as unknown[]).filter((x) => validate(v, x, root, path).length === 0).length;
    return n === 1 ? [] : fail(`${n} oneOf branches match`);
  }
  if (sc.const !== undefined && JSON.stringify(v) !== JSON.stringify(sc.const)) return fail("const");
  if (sc.enum !== undefined && !(sc.enum as unknown[]).some((e) => JSON.stringify(e) === JSON.stringify(v))) return fail("enum");
  const isObj = typeof v === "object" && v !== null && !Array.isArray(v);
  const typeOk = (t: string): boolean =>
    t === "null" ? v === null : t === "array" ? Array.isArray(v) : t === "object" ? isObj : t === "integer" ? Number.isInteger(v) : typeof v === t;
  if (sc.type !== undefined && !(Array.isArray(sc.type) ? sc.type : [sc.type]).some((t) => typeOk(t as string))) return fail(`type ${JSON.stringify(sc.type)}`);
  if (typeof v === "string") {
    const n = [...v].length;
    if (typeof sc.minLength === "number" && n < sc.minLength) errs.push(...fail("minLength"));
    if (typeof sc.maxLength === "number" && n > sc.maxLength) errs.push(...fail("maxLength"));
  }
  if (Array.isArray(v)) {
    if (typeof sc.minItems === "number" && v.length < sc.minItems) errs.push(...fail("minItems"));
    if (typeof sc.maxItems === "number" && v.length > sc.maxItems) errs.push(...fail("maxItems"));
    if (sc.items !== undefined) v.forEach((x, i) => errs.push(...validate(x, sc.items, root, `${path}[${i}]`)));
  }
  if (isObj) {
    const o = v as Record<string, unknown>;
    const props = (sc.properties ?? {}) as Record<string, unknown>;
    for (const r of (sc.required ?? []) as string[]) if (!(r in o)) errs.push(...fail(`missing ${r}`));
    for (const [k, x] of Object.entries(o)) {
      if (k in props) errs.push(...validate(x, props[k], root, `${path}.${k}`));
      else if (sc.additionalProperties === false) errs.push(...fail(`extra key ${k}`));
      else if (sc.additionalProperties !== undefined) errs.push(...validate(x, sc.additionalProperties, root, `${path}.${k}`));
    }
  }
  return errs;
}

/** Strict mode also forbids extras where additionalProperties is absent: check that separately. */
function strictify(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(strictify);
  if (typeof s !== "object" || s === null) return s;
  const o = Object.fromEntries(Object.entries(s).map(([k, x]) => [k, k === "enum" || k === "const" ? x : strictify(x)]));
  if (o.properties !== undefined && o.additionalProperties === undefined) o.additionalProperties = false;
  return o;
}

const SCHEMAS: Record<string, Schema> = {
  nested: {
    type: "object",
    properties: {
      name: { type: "string", maxLength: 20 },
      age: { type: "integer" },
      address: { type: "object", properties: { street: { type: "string" }, city: { type: "string" }, zip: { type: "string", minLength: 5, maxLength: 5 } }, required: ["street", "city"] },
      tags: { type: "array", items: { type: "string", maxLength: 8 }, maxItems: 3 },
    },
    required: ["name", "age", "address"],
  },
  boundedArray: { type: "array", items: { type: "number" }, minItems: 2, maxItems: 4 },
  enums: {
    type: "object",
    properties: {
      color: { enum: ["red", "green", "blue"] },
      unit: { const: "celsius" },
      level: { type: "integer", enum: [1, 2, 3] },
      mixed: { enum: [null, true, "x\"y", 1.5, { a: [1] }] },
    },
    required: ["color", "unit", "level", "mixed"],
  },
  anyOf: {
    type: "object",
    properties: {
      v: { anyOf: [{ type: "string", maxLength: 4 }, { type: "integer" }, { type: "object", properties: { x: { type: "boolean" } }, required: ["x"] }] },
      n: { type: ["number", "null"] },
      o: { type: "string", nullable: true },
      one: { oneOf: [{ type: "boolean" }, { type: "array", items: { type: "null" }, maxItems: 2 }] },
    },
    required: ["v", "n", "o", "one"],
  },
  recursion: {
    $defs: {
      node: {
        type: "object",
        properties: { value: { type: "integer" }, children: { type: "array", items: { $ref: "#/$defs/node" }, maxItems: 2 } },
        required: ["value", "children"],
      },
    },
    $ref: "#/$defs/node",
  },
  linkedList: { type: "object", properties: { v: { type: "boolean" }, next: { anyOf: [{ $ref: "#" }, { type: "null" }] } }, required: ["v", "next"] },
  numbers: { type: "object", properties: { i: { type: "integer" }, x: { type: "number" }, xs: { type: "array", items: { type: "integer" }, minItems: 1 } }, required: ["i", "x", "xs"] },
  extras: { type: "object", properties: { id: { type: "integer" } }, required: ["id"], additionalProperties: { type: "boolean" } },
};

/** Keywords with automata (patterns, formats, bounds), validated by validate.ts. */
const AUTOMATA: Schema = {
  type: "object",
  properties: {
    code: { type: "string", pattern: "^[A-Z]{2}-\\d{1,3}$" },
    day: { type: "string", format: "date" },
    mail: { type: "string", format: "email", maxLength: 24 },
    id: { type: "string", format: "uuid" },
    n: { type: "integer", minimum: -5, maximum: 120 },
    x: { type: "number", exclusiveMinimum: 0, maximum: 2.5 },
    q: { type: "string", pattern: 'a"b|\\\\' },
  },
  required: ["code", "day", "mail", "id", "n", "x", "q"],
};

test("json_schema random walks with patterns, formats and numeric bounds validate", () => {
  const compiled = compileConstraint({ kind: "json_schema", schema: AUTOMATA }, vocab);
  assert.deepEqual(compiled.unenforced, []);
  for (let seed = 1; seed <= 6; seed++) {
    const { text } = walk(compiled.start(), seed * 31, { maxSteps: 900 });
    assert.deepEqual(validateJson(JSON.parse(text), AUTOMATA), [], text);
    assert.deepEqual(compiled.check(text), [], text);
  }
});

for (const [name, schema] of Object.entries(SCHEMAS)) {
  test(`json_schema random walks over the Qwen3 vocab produce valid JSON: ${name}`, () => {
    const compiled = compileConstraint({ kind: "json_schema", schema }, vocab);
    for (let seed = 1; seed <= 6; seed++) {
      const { text } = walk(compiled.start(), seed * 7919 + name.length);
      const value: unknown = JSON.parse(text);
      assert.deepEqual(validate(value, strictify(schema), strictify(schema) as Schema), [], text);
    }
  });
}

test("strings with escapes and non-ASCII stay valid and within length", () => {
  const schema = { type: "object", properties: { s: { type: "string", minLength: 1, maxLength: 12 }, t: { type: "string" } }, required: ["s", "t"] };
  const compiled = compileConstraint({ kind: "json_schema", schema }, vocab);
  let sawEscape = false;
  let sawNonAscii = false;
  for (let seed = 1; seed <= 12; seed++) {
    const { text } = walk(compiled.start(), seed, { weird: 0.5, close: 0.2 });
    const value = JSON.parse(text) as { s: string; t: string };
    assert.deepEqual(validate(value, strictify(schema), schema), [], text);
    sawEscape ||= text.includes("\\");
    sawNonAscii ||= /[^\x00-\x7f]/.test(text);
  }
  assert.ok(sawEscape && sawNonAscii, "the walks exercised escapes and non-ASCII text");
});

test("json_object mode produces a JSON object", () => {
  for (let seed = 1; seed <= 6; seed++) {
    const { text } = walk(createConstraint({ kind: "json_object" }, vocab), seed, { close: 0.7 });
    const v: unknown = JSON.parse(text);
    assert.ok(typeof v === "object" && v !== null && !Array.isArray(v), text);
  }
});

test("a literal prefix with special-token text is forced first, then the JSON", () => {
  const prefix = "<think>\n\n</think>\n\n";
  const c = createConstraint({ kind: "json_object", prefix }, vocab);
  const first = c.allowedBits();
  for (let id = 0; id < vocab.size; id++) assert.equal(hasBit(first, id), id === 151667, `only <think> may start (id ${id})`);
  const { ids } = walk(c, 3, { close: 0.7 });
  assert.equal(ids[0], 151667);
  const thinkEnd = ids.indexOf(151668);
  assert.ok(thinkEnd > 0, "</think> is emitted as its added token");
  const after = fatal.decode(Uint8Array.from(ids.slice(thinkEnd + 1).flatMap((i) => [...tokenStrings[i]])));
  assert.equal(fatal.decode(Uint8Array.from(ids.slice(1, thinkEnd).flatMap((i) => [...tokenStrings[i]]))), "\n\n");
  assert.ok(after.startsWith("\n\n{"), JSON.stringify(after));
  const v: unknown = JSON.parse(after);
  assert.ok(typeof v === "object" && v !== null && !Array.isArray(v));
});

const TOOLS = [
  { type: "function" as const, function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string", maxLength: 10 }, unit: { enum: ["c", "f"] } }, required: ["city"] } } },
  { type: "function" as const, function: { name: "get_time", parameters: { type: "object", properties: { tz: { type: "string" } }, required: ["tz"] } } },
  { type: "function" as const, function: { name: "ping" } },
];

/** Split a Hermes tool-call block sequence and check every call. */
function checkToolCalls(ids: number[], allowedNames: string[]): number {
  const parts: string[] = [];
  let cur: number[] = [];
  const flush = (): void => {
    parts.push(fatal.decode(Uint8Array.from(cur.flatMap((i) => [...tokenStrings[i]]))));
    cur = [];
  };
  for (const id of ids) {
    if (id === TOOL_CALL || id === TOOL_CALL_END) {
      flush();
      parts.push(id === TOOL_CALL ? "<tool_call>" : "</tool_call>");
    } else cur.push(id);
  }
  flush();
  const text = parts.join("");
  const blocks = text.split("\n").join("\u0000");
  const m = /^(<tool_call>\u0000\{.*?\}\u0000<\/tool_call>)(\u0000<tool_call>\u0000\{.*?\}\u0000<\/tool_call>)*$/su.exec(blocks);
  assert.ok(m !== null, `Hermes block shape: ${JSON.stringify(text)}`);
  const calls = [...text.matchAll(/<tool_call>\n(.*?)\n<\/tool_call>/gsu)].map((x) => JSON.parse(x[1]) as { name: string; arguments: unknown });
  for (const call of calls) {
    assert.deepEqual(Object.keys(call), ["name", "arguments"]);
    assert.ok(allowedNames.includes(call.name), call.name);
    const fn = TOOLS.find((t) => t.function.name === call.name)?.function;
    const params = strictify(fn !== undefined && "parameters" in fn ? fn.parameters : { type: "object", properties: {} }) as Schema;
    assert.deepEqual(validate(call.arguments, params, params), [], JSON.stringify(call));
  }
  assert.equal((text.match(/<tool_call>/g) ?? []).length, ids.filter((i) => i === TOOL_CALL).length, "tags are the added tokens");
  return calls.length;
}

test("tool_call mode (required) produces one or more valid Hermes calls", () => {
  const compiled = compileConstraint({ kind: "tool_call", tools: TOOLS }, vocab);
  const first = compiled.start().allowedBits();
  for (let id = 0; id < vocab.size; id++) assert.equal(hasBit(first, id), id === TOOL_CALL, `only <tool_call> may start (id ${id})`);
  let maxCalls = 0;
  for (let seed = 1; seed <= 10; seed++) {
    const { ids } = walk(compiled.start(), seed, { close: 0.5, goOn: 0.6 });
    maxCalls = Math.max(maxCalls, checkToolCalls(ids, ["get_weather", "get_time", "ping"]));
  }
  assert.ok(maxCalls >= 2, "some walk made parallel calls");
});

test("tool_call mode with a named function calls exactly that function once", () => {
  for (let seed = 1; seed <= 5; seed++) {
    const c = createConstraint({ kind: "tool_call", tools: TOOLS, name: "get_weather" }, vocab);
    const { ids } = walk(c, seed);
    assert.equal(checkToolCalls(ids, ["get_weather"]), 1);
  }
  assert.throws(() => createConstraint({ kind: "tool_call", tools: TOOLS, name: "nope" }, vocab), /no tool named "nope"/);
});

test("after </tool_call> only EOS or a newline toward the next call is allowed", () => {
  const c = createConstraint({ kind: "tool_call", tools: TOOLS }, vocab);
  const enc = new TextEncoder();
  c.accept(TOOL_CALL);
  // Feed the call through single-byte tokens (byte-level vocab has one per printable byte).
  const byteToken = new Map<number, number>();
  tokenStrings.forEach((b, id) => {
    if (b.length === 1 && !byteToken.has(b[0]) && !specialIds.includes(id)) byteToken.set(b[0], id);
  });
  for (const b of enc.encode('\n{"name": "ping", "arguments": {}}\n')) c.accept(byteToken.get(b) as number);
  assert.equal(c.isComplete(), false);
  c.accept(TOOL_CALL_END);
  assert.equal(c.isComplete(), true);
  const bits = c.allowedBits();
  const allowed: number[] = [];
  for (let id = 0; id < vocab.size; id++) if (hasBit(bits, id)) allowed.push(id);
  const texts = allowed.filter((id) => !EOS.includes(id)).map((id) => new TextDecoder().decode(tokenStrings[id]));
  assert.ok(EOS.every((e) => allowed.includes(e)));
  assert.deepEqual(texts, ["\n"]);
});

test("mask agrees with accept on every token for states along walks", () => {
  const specs: ConstraintSpec[] = [
    { kind: "json_schema", schema: SCHEMAS.nested },
    { kind: "json_schema", schema: SCHEMAS.anyOf },
    { kind: "json_schema", schema: AUTOMATA },
    { kind: "tool_call", tools: TOOLS },
  ];
  specs.forEach((spec, k) => {
    const c = createConstraint(spec, vocab);
    const r = rng(99 + k);
    const { ids } = walk(createConstraint(spec, vocab), 1234 + k);
    // Check the start and ~5 states spread along the walk.
    const checkAt = new Set([0, ...Array.from({ length: 4 }, () => Math.floor(r() * ids.length))]);
    ids.forEach((id, step) => {
      if (checkAt.has(step)) {
        const bits = c.allowedBits();
        for (let t = 0; t < tokenStrings.length; t++) {
          if (hasBit(bits, t) !== c.canAccept(t)) {
            assert.fail(`mask says ${hasBit(bits, t)} for token ${t} ${JSON.stringify(new TextDecoder().decode(tokenStrings[t]))} at step ${step}`);
          }
        }
      }
      c.accept(id);
    });
  });
});

test("accept rejects a disallowed token with a QwenrtError and leaves the state usable", () => {
  const c = createConstraint({ kind: "json_schema", schema: { type: "object", properties: { a: { type: "integer" } }, required: ["a"] } }, vocab);
  assert.throws(() => c.accept(EOS[0]), /before the output is complete/);
  assert.throws(() => c.accept(TOOL_CALL), QwenrtError);
  const brace = tokenStrings.findIndex((b) => b.length === 1 && b[0] === 0x7b);
  c.accept(brace);
  assert.equal(c.isComplete(), false);
});

test("mask timings over the Qwen3 vocab (reported, not asserted)", (t) => {
  // Times of every mask() in this file's walks: cold computations, cache hits and masking the logits.
  const times = [...allMaskMs].sort((a, b) => a - b);
  assert.ok(times.length > 1000, "the walks above ran");
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  const pct = (p: number): string => times[Math.min(times.length - 1, Math.floor(p * times.length))].toFixed(2);
  t.diagnostic(`masks: ${times.length}, mean ${mean.toFixed(2)} ms, p50 ${pct(0.5)}, p90 ${pct(0.9)}, p99 ${pct(0.99)}, max ${pct(1)} ms`);
});
