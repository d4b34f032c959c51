// Structured output on real schemas: 40 zod v4 schemas (z.toJSONSchema, as the OpenAI helpers, the
// AI SDK and LangChain send them) and 16 pydantic v2 model schemas, each generated 5 times with
// different seeds by a random-weight model through the engine's chat-turn pipeline, and every output
// validated by ajv (draft 2020-12, ajv-formats). Random weights pick among the allowed tokens almost
// uniformly, so a free string would run on for hundreds of tokens and a recursive array would keep
// opening new levels: tokens made only of closing punctuation (`"`, `]`, `}`, with `,` and spaces)
// and the lone `@` of an email get a logit bias so generations finish — which of them, and
// everything in between, is still the model's random choice under the grammar. ajv divides binary floating-point numbers for
// multipleOf (0.07 / 0.01 = 7.000000000000001); `multipleOfPrecision` lets it judge decimals as
// JSON Schema defines them, which is how the grammar enforces them.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { parseChatRequest } from "../src/chat/messages.js";
import { loadChatTemplate } from "../src/chat/template.js";
import { TurnRunner, type PreparedTurn, type TurnOutcome } from "../src/engine/turn.js";
import { createWasmBackend } from "../src/kernels/wasm/index.js";
import type { KernelBackend } from "../src/kernels/types.js";
import { loadModel } from "../src/models/load.js";
import type { Sequence } from "../src/models/model.js";
import { Tokenizer } from "../src/tokenizer/index.js";
import { completeModelDir, removeModelDir } from "./helpers/complete-model.js";
import { zodCorpus } from "./schema-corpus/zod.js";

const pydanticCorpus = JSON.parse(readFileSync(new URL("./schema-corpus/pydantic.json", import.meta.url), "utf8")) as Record<string, Record<string, unknown>>;
const corpus: [string, Record<string, unknown>][] = [
  ...Object.entries(zodCorpus).map(([k, v]): [string, Record<string, unknown>] => [`zod ${k}`, v]),
  ...Object.entries(pydanticCorpus).map(([k, v]): [string, Record<string, unknown>] => [`pydantic ${k}`, v]),
];
const SEEDS = [1, 2, 3, 4, 5];
/** Schemas generating at once: their sequences share the engine's batched forward steps. */
const PARALLEL = 6;

// ajv-formats has no entry for zod's own format names; zod sends a pattern with each, which ajv checks.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
const ajv = addFormats(new Ajv2020({ allErrors: true, strict: false, multipleOfPrecision: 9 }));
for (const f of ["starts_with", "ends_with", "cuid", "nanoid", "base64", "e164"]) ajv.addFormat(f, true);

let dir: string;
let backend: KernelBackend;
let runner: TurnRunner<Sequence>;
let bias: Map<number, number>;

before(async () => {
  dir = completeModelDir("qwen3-dense-tiny");
  backend = await createWasmBackend({ threads: 1 });
  const model = await loadModel(dir, { backend });
  const tokenizer = Tokenizer.fromDir(dir);
  runner = new TurnRunner(model, tokenizer, loadChatTemplate(dir), { prefixCacheTokens: 8192 });
  bias = new Map();
  for (let id = 0; id < tokenizer.vocabSize; id++) {
    const text = new TextDecoder().decode(tokenizer.tokenBytes(id) ?? new Uint8Array(0));
    if (/^[\]}"@, ]+$/.test(text) && /[\]}"@]/.test(text)) bias.set(id, 12);
  }
});
after(async () => {
  // Generations started ahead for tests that were filtered out stop here (the process must end).
  stopAll.abort();
  await Promise.allSettled(pending.values());
  backend.dispose();
  removeModelDir(dir);
});

test(`the corpus has at least 50 schemas (${corpus.length})`, () => {
  assert.ok(corpus.length >= 50);
});

/** Generations of each schema, started PARALLEL schemas at a time (each test awaits its own). */
const pending = new Map<string, Promise<TurnOutcome[]>>();
const stopAll = new AbortController();
let slots = PARALLEL;
const queue: (() => void)[] = [];
function generations(name: string, turn: PreparedTurn): Promise<TurnOutcome[]> {
  let p = pending.get(name);
  if (p === undefined) {
    p = (async () => {
      if (slots === 0) await new Promise<void>((wake) => queue.push(wake));
      slots--;
      try {
        return await Promise.all(SEEDS.map((seed) => runner.run(turn, { seed, temperature: 1, maxTokens: 500, logitBias: bias, signal: stopAll.signal })));
      } finally {
        slots++;
        queue.shift()?.();
      }
    })();
    pending.set(name, p);
  }
  return p;
}

const prompt = (name: string) =>
  parseChatRequest({ messages: [{ role: "user", content: `Reply with a ${name} as JSON.` }], chat_template_kwargs: { enable_thinking: false } });

for (const [name, schema] of corpus) {
  test(`${name}: ${SEEDS.length} seeded generations validate with ajv`, async () => {
    const validate = ajv.compile(schema);
    const turn = runner.prepare({ chat: prompt(name), responseFormat: { type: "json_schema", schema, strict: true } });
    const grammar = turn.grammar?.compiled;
    assert.ok(grammar !== undefined);
    // Start this schema and the next few, so several generate at once.
    const at = corpus.findIndex(([n]) => n === name);
    for (const [n, s] of corpus.slice(at + 1, at + PARALLEL)) {
      try {
        void generations(n, runner.prepare({ chat: prompt(n), responseFormat: { type: "json_schema", schema: s, strict: true } })).catch(() => undefined);
      } catch {
        // That schema's own test reports why it does not compile.
      }
    }
    const outs = await generations(name, turn);
    outs.forEach((o, i) => {
      assert.equal(o.finishReason, "stop", `seed ${SEEDS[i]} did not finish: ${o.text.slice(0, 200)}…`);
      const value: unknown = JSON.parse(o.message.content);
      assert.ok(validate(value), `seed ${SEEDS[i]}: ${o.message.content}\n${JSON.stringify(validate.errors, null, 1)}`);
      assert.deepEqual(grammar.check(o.message.content), [], o.message.content);
    });
  });
}
