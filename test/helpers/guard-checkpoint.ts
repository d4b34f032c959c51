/**
 * Test helper: a tiny Qwen3 guard whose verdict is designed, not random. Every weight is zero but
 * a few: each token's embedding carries a constant 1 in dimension 1, and "trigger" tokens also a 1
 * in dimension 0; attention is uniform (zero q/k), so the last position's dimension 0 grows with
 * the share of trigger tokens in the prompt; the LM head reads dimension 0 into the first token of
 * " Unsafe" and dimension 1 into " Safe". So the guard says Unsafe exactly when the prompt holds a
 * trigger token: all tokens (always unsafe), none (always safe), or the tokens only the response
 * check's policy text contains (prompts pass, answers fail), or chosen ids. Written with the real tokenizer files.
 */
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { guardPrompt } from "../../src/chat/guard.js";
import { writeSafetensors, type TensorToWrite } from "../../src/formats/safetensors.js";
import { getArchitecture, parseModelConfig } from "../../src/models/registry.js";
import { Tokenizer } from "../../src/tokenizer/index.js";
import { encodeValues } from "./random-checkpoint.js";

const tokenizerDir = new URL("../fixtures/qwen3-tokenizer/", import.meta.url).pathname;

/** Which tokens push the guard to Unsafe: all, none, those only the response check's text has, or these ids. */
export type GuardTrigger = "always" | "never" | "response" | readonly number[];

const raw = {
  architectures: ["Qwen3ForCausalLM"],
  model_type: "qwen3",
  vocab_size: 151936,
  hidden_size: 32,
  intermediate_size: 8,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  num_key_value_heads: 1,
  head_dim: 16,
  max_position_embeddings: 40960,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000,
  tie_word_embeddings: false,
  bos_token_id: 151643,
  eos_token_id: 151645,
};

/** Tokens of the response check's prompt that the prompt check's never contains. */
function responseOnlyTokens(tok: Tokenizer): Set<number> {
  const enc = (s: string): number[] => tok.encode(s, { addSpecialTokens: false });
  const prompt = new Set(enc(guardPrompt([{ role: "user", content: "Hello" }]).text));
  return new Set(enc(guardPrompt([{ role: "user", content: "Hello" }, { role: "assistant", content: "Hello" }]).text).filter((t) => !prompt.has(t)));
}

/** Write the guard into `dir` (config, weights, tokenizer files); returns `dir`. */
export function writeGuardCheckpoint(dir: string, trigger: GuardTrigger): string {
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(tokenizerDir)) copyFileSync(join(tokenizerDir, f), join(dir, f));
  const tok = Tokenizer.fromDir(dir);
  const config = parseModelConfig(raw, "config");
  const h = config.hiddenSize;
  const triggers = trigger === "response" ? responseOnlyTokens(tok) : new Set<number>(typeof trigger === "string" ? [] : trigger);
  const unsafe = tok.encode(" Unsafe", { addSpecialTokens: false })[0]!;
  const safe = tok.encode(" Safe", { addSpecialTokens: false })[0]!;
  const tensors = new Map<string, TensorToWrite>();
  for (const s of getArchitecture("qwen3").weightTable(config)) {
    const v = new Float32Array(s.shape.reduce((a, b) => a * b, 1));
    if (s.kind !== "matrix") v.fill(1); // every norm weight 1
    else if (s.name === "model.embed_tokens.weight") {
      for (let t = 0; t < config.vocabSize; t++) {
        v[t * h + 1] = 1;
        if (trigger === "always" || triggers.has(t)) v[t * h] = 1;
      }
    } else if (s.name.endsWith("v_proj.weight")) v[0] = 1; // v[0] = normed x[0]
    else if (s.name.endsWith("o_proj.weight")) v[0] = 1000; // x[0] += 1000 * mean over positions of v[0]
    else if (s.name === "lm_head.weight") {
      v[unsafe * h] = 20;
      v[safe * h + 1] = 20;
    }
    tensors.set(s.name, { dtype: "BF16", shape: s.shape, bytes: encodeValues("BF16", v) });
  }
  writeFileSync(join(dir, "config.json"), `${JSON.stringify(raw, null, 2)}\n`);
  writeSafetensors(join(dir, "model.safetensors"), tensors, { format: "pt" });
  return dir;
}
