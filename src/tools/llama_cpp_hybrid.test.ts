// The hybrid architectures against llama.cpp (node-llama-cpp's prebuilt CPU binary): random-weight
// checkpoints in the published HF layouts, converted by our converter to F32 GGUFs in llama.cpp's
// layout (qwen3next, qwen35, qwen35moe), run by llama.cpp and by qwenrt. Last-position logits within
// 1e-3 relative, greedy continuations identical, a short prompt and a 600-token one; and the HF
// checkpoint and its GGUF give qwenrt the same logits. Skips, saying why, only when the binary
// cannot load at all; an architecture llama.cpp rejects fails with its error.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { getLlama, LlamaLogLevel, type ControlledEvaluateInputItem, type Llama, type LlamaContext, type LlamaModel, type Token } from "node-llama-cpp";
import { ids } from "../../test/helpers/differential.js";
import { QWEN3_TOKENIZER_DIR } from "../../test/helpers/gguf-fixture.js";
import { writeTinyHybrid, type HybridKind } from "../../test/helpers/hybrid-checkpoints.js";
import { createWasmBackend } from "../kernels/wasm/index.js";
import type { HostKernelBackend } from "../kernels/types.js";
import { loadModel } from "../models/load.js";
import type { Model } from "../models/model.js";
import { convertHfToGguf } from "./convert.js";

const out = mkdtempSync(join(tmpdir(), "qwenrt-llamacpp-hybrid-"));
const VOCAB = 151936; // the Qwen3 tokenizer's, written into the GGUF
let llama: Llama | undefined;
let unavailable = "";
let wasm: HostKernelBackend;

before(async () => {
  wasm = await createWasmBackend({ threads: 2, kv: "f32" });
  try {
    llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
  } catch (e) {
    unavailable = `node-llama-cpp's prebuilt binary cannot load here: ${(e as Error).message}`;
    console.log(`# skipping llama.cpp cross-checks: ${unavailable}`);
  }
});

after(async () => {
  await llama?.dispose();
  wasm.dispose();
  rmSync(out, { recursive: true, force: true });
});

function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

/** Top-1 minus top-2 logit. */
function gap(row: Float32Array): number {
  let a = -Infinity, b = -Infinity;
  for (const v of row) {
    if (v > a) [a, b] = [v, a];
    else if (v > b) b = v;
  }
  return a - b;
}

/** max |a − b| / max |b| over one row. */
function relErr(a: Float32Array, b: Float32Array): number {
  let d = 0, m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
  }
  return d / m;
}

/** llama.cpp: the last prompt position's logits, then `steps` greedy tokens (each fed back). */
async function llamaGreedy(ctx: LlamaContext, prompt: readonly number[], steps: number): Promise<{ last: Float32Array; tokens: number[] }> {
  const seq = ctx.getSequence();
  const row = (map: ReadonlyMap<Token, number> | undefined): Float32Array => {
    assert.ok(map !== undefined && map.size === VOCAB, "llama.cpp returned a full logits row");
    const r = new Float32Array(VOCAB);
    for (const [tok, v] of map) r[tok] = v;
    return r;
  };
  try {
    const input = prompt.map((t, i): ControlledEvaluateInputItem => (i === prompt.length - 1 ? [t as Token, { generateNext: { logits: true } }] : (t as Token)));
    const res = await seq.controlledEvaluate(input);
    const last = row(res[prompt.length - 1]?.next?.logits);
    const tokens: number[] = [];
    let cur = last;
    for (let s = 0; s < steps; s++) {
      const next = argmax(cur);
      tokens.push(next);
      if (s === steps - 1) break;
      const r = await seq.controlledEvaluate([[next as Token, { generateNext: { logits: true } }]]);
      cur = row(r[0]?.next?.logits);
    }
    return { last, tokens };
  } finally {
    seq.dispose();
  }
}

/** qwenrt: the same, stopping the comparison at the first near-tie (top-2 gap under 1e-3). */
function qwenrtGreedy(m: Model, prompt: readonly number[], steps: number): { last: Float32Array; tokens: number[]; tieAt: number } {
  const seq = m.newSequence();
  const [last] = m.forward([{ seq, ids: Int32Array.from(prompt) }]);
  const tokens: number[] = [];
  let cur = last!;
  let tieAt = steps;
  for (let s = 0; s < steps; s++) {
    if (tieAt === steps && gap(cur) < 1e-3) tieAt = s;
    const next = argmax(cur);
    tokens.push(next);
    if (s < steps - 1) cur = m.forward([{ seq, ids: Int32Array.of(next) }])[0]!;
  }
  return { last: last!, tokens, tieAt };
}

// llama.cpp's qwen3next graph has no dense layers (every layer MoE), so no mlp_only_layers here.
const kinds: readonly [HybridKind, { mlpOnly?: number[] }][] = [["qwen3_next", { mlpOnly: [] }], ["qwen3_5", {}], ["qwen3_5_moe", {}]];

for (const [kind, extra] of kinds) {
  describe(`${kind}: our F32 GGUF in llama.cpp's layout`, () => {
    const dir = join(out, kind);
    const gguf = join(out, `${kind}.gguf`);
    writeTinyHybrid(dir, kind, { vocab: VOCAB, ...extra, seed: 11 });
    let model: LlamaModel | undefined;
    let loadError = "";
    let hf: Model;
    let fromGguf: Model;
    before(async () => {
      await convertHfToGguf(dir, gguf, { type: "f32", tokenizerDir: QWEN3_TOKENIZER_DIR });
      hf = await loadModel(dir, { backend: wasm });
      fromGguf = await loadModel(gguf, { backend: wasm });
      if (llama === undefined) return;
      try {
        model = await llama.loadModel({ modelPath: gguf, useMmap: false });
      } catch (e) {
        loadError = (e as Error).message;
      }
    });
    after(async () => {
      await model?.dispose();
    });

    test("qwenrt gives the HF checkpoint and its GGUF the same logits", (t) => {
      const prompt = ids(17, 40, 5000);
      const [a] = hf.forward([{ seq: hf.newSequence(), ids: prompt }], { logits: "all" });
      const [b] = fromGguf.forward([{ seq: fromGguf.newSequence(), ids: prompt }], { logits: "all" });
      let d = 0;
      for (let i = 0; i < a!.length; i++) d = Math.max(d, Math.abs(a![i]! - b![i]!));
      t.diagnostic(`${kind}: max |Δ logit| HF vs GGUF over 40 positions = ${d.toExponential(2)}`);
      // Bit-identical for Qwen3-Next; Qwen3.5's GGUF holds the value heads in tiled order, so
      // out_proj sums the same products in another order (measured 1.6e-5).
      assert.ok(d <= (kind === "qwen3_next" ? 0 : 1e-4), `${d}`);
    });

    for (const [label, len] of [["short", 12], ["600-token", 600]] as const) {
      test(`llama.cpp runs it: ${label} prompt, last logits within 1e-3 relative and greedy identical`, async (t) => {
        if (llama === undefined) return t.skip(unavailable);
        assert.ok(model !== undefined, `llama.cpp cannot load our ${kind} GGUF: ${loadError}`);
        const prompt = Array.from(ids(len, len, 5000));
        const steps = 12;
        const ctx = await model.createContext({ contextSize: 1024, batchSize: 1024, threads: 2, flashAttention: false, experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32" });
        try {
          const theirs = await llamaGreedy(ctx, prompt, steps);
          const ours = qwenrtGreedy(fromGguf, prompt, steps);
          const rel = relErr(ours.last, theirs.last);
          t.diagnostic(`${kind} ${label}: last-position max |Δ logit| / max |logit| = ${rel.toExponential(2)}; greedy ours ${ours.tokens.join(",")} / llama.cpp ${theirs.tokens.join(",")} (compared ${ours.tieAt} of ${steps} steps)`);
          assert.ok(rel <= 1e-3, `relative error ${rel}`);
          assert.deepEqual(ours.tokens.slice(0, ours.tieAt), theirs.tokens.slice(0, ours.tieAt));
          assert.ok(ours.tieAt >= steps / 2, `a near-tie at step ${ours.tieAt} leaves too little to compare`);
        } finally {
          await ctx.dispose();
        }
      });
    }
  });
}
