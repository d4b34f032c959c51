// Qwen3Guard-Stream on a random-weight checkpoint of the real layout (`synth --preset
// tiny-qwen3guard-stream`: the tiny Qwen3 backbone and both head branches) against an independent
// float64 path: the backbone by test/helpers/f64-forward.ts, the heads (pre → RMSNorm → risk and
// category) written out here from the vLLM/SGLang layout, on weights decoded without src/ helpers.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { writeRandomStreamGuard } from "../../test/helpers/guard-checkpoint.js";
import { decodeSafetensorsF64, hiddenF64, type F64Config, type F64Weights } from "../../test/helpers/f64-forward.js";
import { loadChatTemplate } from "../chat/template.js";
import { loadModel, loadStreamGuard } from "../models/load.js";
import { Tokenizer } from "../tokenizer/index.js";
import { moderateStream, type StreamGuard, type TokenVerdict } from "./guard-stream.js";

const tmp = mkdtempSync(join(tmpdir(), "qwenrt-stream-guard-"));
const dir = join(tmp, "guard");
writeRandomStreamGuard(dir, 7);
const loaded = await loadStreamGuard(dir);
const guard: StreamGuard = { ...loaded, tokenizer: Tokenizer.fromDir(dir), template: loadChatTemplate(dir) };
const raw = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as Record<string, Record<string, string>>;
const w = decodeSafetensorsF64(readFileSync(join(dir, "model.safetensors")));
const f64: F64Config = { modelType: "qwen3", hidden: 32, heads: 4, kvHeads: 2, headDim: 16, layers: 2, eps: 1e-6, theta: 1e6, attentionBias: false, tied: true, numExperts: 0, topK: 0, normTopk: false, sparseStep: 1, mlpOnly: [] };
after(() => {
  loaded.model.backend.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

function matVecF64(weights: F64Weights, name: string, x: Float64Array): Float64Array {
  const t = weights.get(name)!;
  const [rows, cols] = t.shape as [number, number];
  assert.equal(cols, x.length, name);
  return Float64Array.from({ length: rows }, (_, r) => x.reduce((a, v, k) => a + v * t.data[r * cols + k]!, 0));
}

/** The `prefix` branch's probabilities over risk levels and categories, in float64. */
function headsF64(hidden: Float64Array, prefix: "" | "query_"): { risk: number[]; category: number[] } {
  const x = matVecF64(w, `${prefix}risk_level_category_pre.weight`, hidden);
  const rms = Math.sqrt(x.reduce((a, v) => a + v * v, 0) / x.length + 1e-6);
  const g = w.get(`${prefix}risk_level_category_layernorm.weight`)!.data;
  const y = x.map((v, i) => (v / rms) * g[i]!);
  const softmax = (z: Float64Array): number[] => {
    const m = Math.max(...z);
    const e = Array.from(z, (v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / s);
  };
  return { risk: softmax(matVecF64(w, `${prefix}risk_level_head.weight`, y)), category: softmax(matVecF64(w, `${prefix}category_head.weight`, y)) };
}

function assertVerdict(got: TokenVerdict, ref: { risk: number[]; category: number[] }, map: Record<string, string>, catMap: Record<string, string>, what: string): void {
  for (const [i, name] of Object.entries(map)) {
    const p = got.probabilities[name as "Safe" | "Unsafe" | "Controversial"];
    assert.ok(Math.abs(p - ref.risk[Number(i)]!) < 2e-5, `${what}: P(${name}) ${p} vs float64 ${ref.risk[Number(i)]}`);
  }
  const best = ref.risk.indexOf(Math.max(...ref.risk));
  assert.equal(got.safety, map[String(best)], `${what}: verdict`);
  const c = ref.category.indexOf(Math.max(...ref.category));
  assert.equal(got.category, catMap[String(c)], `${what}: category`);
  assert.ok(Math.abs(got.categoryProbability - ref.category[c]!) < 2e-5, `${what}: category probability`);
}

describe("Qwen3Guard-Stream (random weights, real layout)", () => {
  const conversation = [
    { role: "system" as const, content: "You are helpful." },
    { role: "user" as const, content: "How do I bake bread?" },
  ];
  const answer = "Mix flour, water, yeast and salt; knead, let it rise, then bake at 230°C.";

  test("the prompt verdict (query heads at the user turn's <|im_end|>) and every answer token's (response heads, cached) match float64", async () => {
    const m = await moderateStream(guard, conversation);
    try {
      const tok = guard.tokenizer;
      const prefix = guard.template.render({ messages: conversation, add_generation_prompt: false, enable_thinking: false });
      const prefixIds = tok.encode(prefix.slice(0, -1), { addSpecialTokens: false });
      assert.equal(prefixIds[prefixIds.length - 1], tok.tokenToId("<|im_end|>"));
      assert.equal(m.promptTokens, prefixIds.length);
      // Fed in three uneven pieces, then the closing token.
      const full = tok.encode(guard.template.render({ messages: [...conversation, { role: "assistant", content: answer }], add_generation_prompt: false, enable_thinking: false }), { addSpecialTokens: false });
      const response = full.slice(prefixIds.length, -1); // up to <|im_end|>, without the final "\n"
      assert.deepEqual(tok.decode(response.slice(0, 9)), "\n<|im_start|>assistant\n<think>\n\n</think>\n\nMix");
      const got = [...(await m.push(response.slice(0, 1))), ...(await m.push(response.slice(1, 7))), ...(await m.push(response.slice(7, -1))), ...(await m.end())];
      assert.equal(got.length, response.length);

      const states = hiddenF64(f64, w, [...prefixIds, ...response]);
      assertVerdict(m.prompt, headsF64(states[prefixIds.length - 1]!, "query_"), raw.query_risk_level_map!, raw.query_category_map!, "prompt");
      got.forEach((v, i) => {
        assert.equal(v.token, response[i]);
        assertVerdict(v, headsF64(states[prefixIds.length + i]!, ""), raw.response_risk_level_map!, raw.response_category_map!, `answer token ${i}`);
      });
    } finally {
      m.close();
    }
  });

  test("pushText: text fed as it grows gives the verdicts of the whole text fed at once, re-judging tokens whose split changed", async () => {
    const whole = await moderateStream(guard, conversation);
    const grown = await moderateStream(guard, conversation);
    try {
      await whole.pushText(answer);
      for (const cut of [3, 4, 11, 12, 30, answer.length]) await grown.pushText(answer.slice(0, cut)); // "Mix" → "Mix " → … splits change
      assert.deepEqual(grown.fed, whole.fed);
      grown.verdicts.forEach((v, i) => {
        assert.equal(v.safety, whole.verdicts[i]!.safety);
        assert.ok(Math.abs(v.probabilities.Unsafe - whole.verdicts[i]!.probabilities.Unsafe) < 1e-5, `token ${i}`);
      });
    } finally {
      whole.close();
      grown.close();
    }
  });

  test("loadModel refuses a Stream checkpoint, naming the architecture; a missing head tensor and a gap in a label map are named", async () => {
    await assert.rejects(loadModel(dir), /"architectures" is Qwen3ForGuardModel \(Qwen3Guard-Stream\): load it with loadStreamGuard/);
    const broken = join(tmp, "broken");
    writeRandomStreamGuard(broken, 1);
    const cfg = JSON.parse(readFileSync(join(broken, "config.json"), "utf8")) as Record<string, unknown>;
    writeFileSync(join(broken, "config.json"), JSON.stringify({ ...cfg, query_risk_level_map: { "0": "Safe", "2": "Unsafe" } }));
    await assert.rejects(loadStreamGuard(broken), /config\.json: "query_risk_level_map" has key "2": keys must be 0 to 1/);
    writeFileSync(join(broken, "config.json"), JSON.stringify({ ...cfg, num_category: 9 }));
    await assert.rejects(loadStreamGuard(broken), /"num_category" is 9 but "response_category_map" names 8 classes/);
    writeFileSync(join(broken, "config.json"), JSON.stringify({ ...cfg, guard_inner_size: 8 }));
    await assert.rejects(loadStreamGuard(broken), /tensor "risk_level_category_pre\.weight" has shape \[16, 32\], expected \[8, 32\]/);
  });
});
