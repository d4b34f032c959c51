import assert from "node:assert/strict";
import { test } from "node:test";
import { QuantMix } from "./quant_mix.js";

const model = { numLayers: 28, numExperts: 0, tiedEmbeddings: true }; // layer 0 is in use_more_bits's first eighth
const tensors = [
  { name: "token_embd.weight", dims: [1024, 151936] },
  { name: "blk.0.attn_v.weight", dims: [1024, 1024] },
  { name: "blk.0.ffn_down.weight", dims: [3072, 1024] },
  { name: "blk.0.attn_norm.weight", dims: [1024] },
];

test("the Q4_K_M mix gives the tied embedding and early attn_v / ffn_down Q6_K", () => {
  const mix = new QuantMix("q4_k_m", model, () => {});
  assert.deepEqual(tensors.map((t) => mix.choose(t)), ["q6_k", "q6_k", "q6_k", "f32"]);
});

test("--pure gives every matrix the base type and keeps 1-D tensors f32", () => {
  for (const [type, base] of [["q4_0", "q4_0"], ["q4_k_m", "q4_k"], ["q6_k", "q6_k"]] as const) {
    const mix = new QuantMix(type, model, () => {}, true);
    assert.deepEqual(tensors.map((t) => mix.choose(t)), [base, base, base, "f32"], type);
  }
});

test("--pure still falls back when a row does not divide into blocks, and says so", () => {
  const lines: string[] = [];
  const mix = new QuantMix("q4_k_m", model, (l) => lines.push(l), true);
  assert.equal(mix.choose({ name: "blk.0.attn_q.weight", dims: [96, 64] }), "q5_0");
  assert.match(lines[0]!, /blk\.0\.attn_q\.weight: row length 96 is not a multiple of q4_k's block size 256; falling back to q5_0/);
});
