import assert from "node:assert/strict";
import { test } from "node:test";
import { indexShards, selectModelFiles } from "./select.js";

const gguf = [
  "README.md",
  "Qwen3-8B-Q4_K_M.gguf",
  "Qwen3-8B-Q4_K_S.gguf",
  "Qwen3-8B-UD-Q4_K_XL.gguf",
  "Q8_0/Qwen3-8B-Q8_0-00001-of-00003.gguf",
  "Q8_0/Qwen3-8B-Q8_0-00002-of-00003.gguf",
  "Q8_0/Qwen3-8B-Q8_0-00003-of-00003.gguf",
  "mmproj-Qwen3-8B-F16.gguf",
  "Qwen3-8B-F16.gguf",
];

test("safetensors repos give config, tokenizer, optional files, index and root shards only", () => {
  const sel = selectModelFiles(
    [
      "README.md",
      "config.json",
      "generation_config.json",
      "merges.txt",
      "model-00001-of-00002.safetensors",
      "model-00002-of-00002.safetensors",
      "model.safetensors.index.json",
      "onnx/model.safetensors",
      "tokenizer.json",
      "tokenizer_config.json",
    ],
    "Qwen/Qwen3-4B",
  );
  assert.deepEqual(sel, {
    format: "safetensors",
    files: [
      "config.json",
      "tokenizer.json",
      "generation_config.json",
      "tokenizer_config.json",
      "model.safetensors.index.json",
      "model-00001-of-00002.safetensors",
      "model-00002-of-00002.safetensors",
    ],
  });
});

test("a repo without tokenizer.json or weights is refused, naming what is missing", () => {
  assert.throws(() => selectModelFiles(["config.json", "model.safetensors"], "a/b"), /a\/b: not a loadable model: missing tokenizer\.json/);
  assert.throws(() => selectModelFiles(["config.json", "tokenizer.json"], "a/b"), /missing \*\.safetensors/);
});

test("quant tags match case-insensitively and only whole tags", () => {
  assert.deepEqual(selectModelFiles(gguf, "Qwen/Qwen3-8B-GGUF", "q4_k_m"), {
    format: "gguf",
    files: ["Qwen3-8B-Q4_K_M.gguf"],
    entry: "Qwen3-8B-Q4_K_M.gguf",
  });
  assert.deepEqual(selectModelFiles(gguf, "r/x", "Q4_K_S"), { format: "gguf", files: ["Qwen3-8B-Q4_K_S.gguf"], entry: "Qwen3-8B-Q4_K_S.gguf" });
  assert.throws(() => selectModelFiles(gguf, "r/x", "Q4_K"), /no \.gguf file matches quant "Q4_K"; available: .*Qwen3-8B-Q4_K_M\.gguf/);
  assert.deepEqual(selectModelFiles(gguf, "r/x", "UD-Q4_K_XL").files, ["Qwen3-8B-UD-Q4_K_XL.gguf"]);
});

test("split GGUF files are selected whole and enter at part 1", () => {
  const sel = selectModelFiles(gguf, "r/x", "Q8_0");
  assert.deepEqual(sel, {
    format: "gguf",
    files: ["Q8_0/Qwen3-8B-Q8_0-00001-of-00003.gguf", "Q8_0/Qwen3-8B-Q8_0-00002-of-00003.gguf", "Q8_0/Qwen3-8B-Q8_0-00003-of-00003.gguf"],
    entry: "Q8_0/Qwen3-8B-Q8_0-00001-of-00003.gguf",
  });
  const missing = gguf.filter((f) => !f.includes("00002-of"));
  assert.throws(() => selectModelFiles(missing, "r/x", "Q8_0"), /missing part\(s\) 2 of 3/);
});

test("the projector loses to the model when a tag matches both, and a GGUF repo defaults to Q4_K_M", () => {
  assert.deepEqual(selectModelFiles(gguf, "r/x", "F16").files, ["Qwen3-8B-F16.gguf"]);
  assert.deepEqual(selectModelFiles(gguf, "r/x").files, ["Qwen3-8B-Q4_K_M.gguf"]);
  assert.deepEqual(selectModelFiles(["only-Q5_K_M.gguf", "mmproj-F16.gguf"], "r/x").files, ["only-Q5_K_M.gguf"]);
  assert.throws(() => selectModelFiles(["a-Q5_K_M.gguf", "a-Q6_K.gguf"], "r/x"), /name one with r\/x:<quant>/);
});

test("a quant tag on a repo without GGUF files is refused", () => {
  assert.throws(() => selectModelFiles(["config.json", "tokenizer.json", "model.safetensors"], "Qwen/Qwen3-0.6B", "Q4_K_M"), /needs a GGUF repo/);
});

test("indexShards lists each shard once and rejects a malformed weight_map", () => {
  assert.deepEqual(indexShards({ weight_map: { a: "m-2.safetensors", b: "m-1.safetensors", c: "m-2.safetensors" } }, "idx"), [
    "m-1.safetensors",
    "m-2.safetensors",
  ]);
  assert.throws(() => indexShards({ weight_map: [1] }, "idx.json"), /idx\.json: "weight_map" must be an object/);
  assert.throws(() => indexShards({ weight_map: { a: 1 } }, "idx.json"), /values must be file names/);
});
