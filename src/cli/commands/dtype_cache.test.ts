// `--dtype` from the command line goes through the quantized-weights cache: the first start
// quantizes once and says where the file went, the second loads it silently, --no-quant-cache
// keeps nothing — and all three generate the same ids.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { synthesize } from "../../tools/synth.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "qwenrt-dtype-cache-"));
const cache = join(dir, "cache");
after(() => rmSync(dir, { recursive: true, force: true }));

function qwenrt(args: string[], env: Record<string, string>): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], { cwd: root, encoding: "utf8", env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("qwenrt generate --dtype q8_0: quantized once into $QWENRT_CACHE_DIR, loaded from there after; same ids every way", () => {
  const model = join(dir, "tiny");
  synthesize({ preset: "tiny-qwen3", out: model, seed: 2 });
  const args = ["generate", model, "--prompt", "Hello", "--temperature", "0", "--max-tokens", "5", "--json", "--dtype", "q8_0", "--threads", "2"];
  const first = qwenrt(args, { QWENRT_CACHE_DIR: cache });
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /^quantized to q8_0 in [\d.]+s, once: later starts load .*quantized\/tiny-q8_0-[0-9a-f]{16}\.gguf\n$/);
  const files = readdirSync(join(cache, "quantized"));
  assert.equal(files.filter((f) => f.endsWith(".gguf")).length, 1, files.join());
  const second = qwenrt(args, { QWENRT_CACHE_DIR: cache });
  assert.equal(second.code, 0, second.stderr);
  assert.equal(second.stderr, "");
  assert.equal(second.stdout, first.stdout);
  const uncached = qwenrt([...args, "--no-quant-cache"], { QWENRT_CACHE_DIR: join(dir, "unused") });
  assert.equal(uncached.code, 0, uncached.stderr);
  assert.equal(uncached.stdout, first.stdout);
  assert.ok(!existsSync(join(dir, "unused")), "--no-quant-cache writes nothing");
});
