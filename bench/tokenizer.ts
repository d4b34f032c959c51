/**
 * Tokenizer encode throughput: qwenrt's byte-level BPE beside Hugging Face's JavaScript tokenizer
 * (`@huggingface/tokenizers`, what transformers.js v4 uses inside; add `--transformers` to also time
 * `AutoTokenizer` from `@huggingface/transformers`, which is not a devDependency — it pulls in
 * onnxruntime — so `npm install --no-save @huggingface/transformers` first) on the same files,
 * same corpus, same run.
 * Also checks that every document encodes to identical ids.
 *
 *   node --import tsx bench/tokenizer.ts [--mb 2] [--runs 5] [--transformers]
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { Tokenizer } from "../src/tokenizer/index.js";

const root = join(import.meta.dirname, "..");
const modelDir = join(root, "test/fixtures/qwen3-tokenizer");
const { values } = parseArgs({
  options: { mb: { type: "string", default: "2" }, runs: { type: "string", default: "5" }, transformers: { type: "boolean" } },
});
const targetBytes = Number(values.mb) * 1e6;
const runs = Number(values.runs);

type Encode = (text: string) => ArrayLike<number>;

// ---- corpus: fixture texts + seeded generated multilingual text, cut into ~1 KB documents ----
function buildCorpus(): string[] {
  const fixtures = JSON.parse(readFileSync(join(root, "test/fixtures/tokenizer/tokenizer-public.json"), "utf8")) as Array<{ text: string }>;
  const chats = JSON.parse(readFileSync(join(root, "test/fixtures/tokenizer/chat-public.json"), "utf8")) as Array<{ rendered: string }>;
  const seeds = [...fixtures.map((c) => c.text), ...chats.map((c) => c.rendered)];
  let seed = 42;
  const rand = (n: number): number => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed % n;
  };
  const scripts = [
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年",
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
    "αβγδεζηθικλμνξοπρστυφχψω",
    "あいうえおかきくけこさしすせそアイウエオカキクケコ",
    "한국어문장은띄어쓰기를사용합니다",
    "ابتثجحخدذرزسشصضطظعغفقكلمنهوي",
    "कखगघङचछजझञटठडढणतथदधनपफबभमयरलवशषसह",
    "0123456789",
    "😀😃😄😁👍🏽🇵🇰🎉🔥",
  ].map((s) => Array.from(s));
  const punct = [" ", " ", " ", " ", ", ", ". ", "\n", "\n\n", "  ", "\t", "'s ", "! ", "? ", " (", ") "];
  const docs: string[] = [];
  let bytes = 0;
  let k = 0;
  while (bytes < targetBytes) {
    let doc = "";
    if (k % 3 === 0) {
      while (doc.length < 1000) doc += seeds[rand(seeds.length)] + "\n";
    } else {
      const alpha = scripts[rand(scripts.length)];
      const other = scripts[rand(scripts.length)];
      while (doc.length < 1000) {
        const a = rand(8) === 0 ? other : alpha;
        const len = 1 + rand(9);
        for (let i = 0; i < len; i++) doc += a[rand(a.length)];
        doc += punct[rand(punct.length)];
      }
    }
    docs.push(doc);
    bytes += Buffer.byteLength(doc);
    k++;
  }
  return docs;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Wall-clock and process CPU seconds for one pass (CPU time is steadier on a shared machine). */
function time(encode: Encode, docs: string[]): { wall: number; cpu: number } {
  const t = performance.now();
  const c = process.cpuUsage();
  for (const d of docs) encode(d);
  const u = process.cpuUsage(c);
  return { wall: (performance.now() - t) / 1000, cpu: (u.user + u.system) / 1e6 };
}

async function main(): Promise<void> {
  const docs = buildCorpus();
  const mb = docs.reduce((n, d) => n + Buffer.byteLength(d), 0) / 1e6;
  const tokenizerJson = JSON.parse(readFileSync(join(modelDir, "tokenizer.json"), "utf8")) as object;
  const configJson = JSON.parse(readFileSync(join(modelDir, "tokenizer_config.json"), "utf8")) as object;

  let t = performance.now();
  const ours = Tokenizer.fromDir(modelDir);
  const oursLoad = performance.now() - t;
  const require = createRequire(import.meta.url);
  const hfModule = require("@huggingface/tokenizers") as {
    Tokenizer: new (json: object, config: object) => { encode(text: string, o: { add_special_tokens: boolean }): { ids: number[] } };
  };
  t = performance.now();
  const hf = new hfModule.Tokenizer(tokenizerJson, configJson);
  const hfLoad = performance.now() - t;

  const peers: Array<{ name: string; encode: Encode; load: number }> = [
    { name: "qwenrt", encode: (s) => ours.encode(s, { addSpecialTokens: false }), load: oursLoad },
    { name: "@huggingface/tokenizers", encode: (s) => hf.encode(s, { add_special_tokens: false }).ids, load: hfLoad },
  ];
  if (values.transformers === true) {
    const name = "@huggingface/transformers"; // a variable: not resolved at type-check time
    const tf = (await import(name).catch(() => {
      throw new Error(`--transformers needs ${name}: npm install --no-save ${name}`);
    })) as {
      env: { allowRemoteModels: boolean; localModelPath: string };
      AutoTokenizer: { from_pretrained(id: string): Promise<{ encode(text: string, o: { add_special_tokens: boolean }): number[] }> };
    };
    tf.env.allowRemoteModels = false;
    tf.env.localModelPath = dirname(modelDir);
    t = performance.now();
    const at = await tf.AutoTokenizer.from_pretrained("qwen3-tokenizer");
    peers.push({ name: "transformers AutoTokenizer", encode: (s) => at.encode(s, { add_special_tokens: false }), load: performance.now() - t });
  }

  // Identical ids on every document (also the warm-up pass for every peer).
  let mismatches = 0;
  for (const d of docs) {
    const want = Array.from(peers[1].encode(d));
    for (const p of [peers[0], ...peers.slice(2)]) {
      const got = Array.from(p.encode(d));
      if (got.length !== want.length || got.some((x, i) => x !== want[i])) {
        if (mismatches++ < 3) console.log(`MISMATCH (${p.name}) on ${JSON.stringify(d.slice(0, 80))}…`);
      }
    }
  }
  const tokens = docs.reduce((n, d) => n + ours.encode(d, { addSpecialTokens: false }).length, 0);
  console.log(`corpus: ${docs.length} docs, ${mb.toFixed(2)} MB, ${tokens} tokens; ids identical: ${mismatches === 0 ? "yes" : `NO (${mismatches} docs)`}`);

  // Interleave peers per run so machine noise hits all alike. Each keeps its own caches warm, as in serving.
  const samples = peers.map(() => [] as Array<{ wall: number; cpu: number }>);
  for (let r = 0; r < runs; r++) peers.forEach((p, i) => samples[i].push(time(p.encode, docs)));
  const wall = samples.map((s) => median(s.map((x) => x.wall)));
  const cpu = samples.map((s) => median(s.map((x) => x.cpu)));
  peers.forEach((p, i) =>
    console.log(
      `${p.name.padEnd(28)} load ${p.load.toFixed(0).padStart(5)} ms   encode ${(mb / wall[i]).toFixed(2).padStart(6)} MB/s wall, ` +
        `${(mb / cpu[i]).toFixed(2).padStart(6)} MB/s cpu  (median of ${runs}; ${(tokens / wall[i] / 1e6).toFixed(2)} Mtok/s)`,
    ),
  );
  peers.slice(1).forEach((p, j) =>
    console.log(`ratio qwenrt / ${p.name}: ${(wall[j + 1] / wall[0]).toFixed(2)}x wall, ${(cpu[j + 1] / cpu[0]).toFixed(2)}x cpu`),
  );
  if (mismatches > 0) process.exitCode = 1;
}

await main();
