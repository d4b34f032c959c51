#!/usr/bin/env node
// Compiles the AssemblyScript kernels (src/kernels/wasm/assembly/) into two modules:
//   dist/kernels/wasm/kernels.wasm          SIMD128 + threads (runs everywhere Node >= 20 runs)
//   dist/kernels/wasm/kernels-relaxed.wasm  the same with relaxed SIMD (fused multiply-add)
// dist/ is the one output place, from source (tsx) and from the compiled package alike: the loader
// (src/kernels/wasm/module.ts) looks beside itself first, then in the repository's dist/. Nothing
// binary is committed. Skips the build when the outputs are newer than every source (--force rebuilds).
import { mkdirSync, readdirSync, renameSync, statSync } from "node:fs";
import { join } from "node:path";
import asc from "assemblyscript/asc";

const root = new URL("..", import.meta.url).pathname;
const srcDir = join(root, "src/kernels/wasm/assembly");
const outDir = join(root, "dist/kernels/wasm");
const force = process.argv.includes("--force");

const common = [
  "--enable", "simd", "--enable", "threads",
  "--importMemory", "--sharedMemory", "--initialMemory", "1", "--maximumMemory", "65536",
  "--runtime", "stub", "-O3", "--noAssert", "--use", "abort=",
];
const targets = [
  { file: "kernels.wasm", flags: [] },
  { file: "kernels-relaxed.wasm", flags: ["--enable", "relaxed-simd"] },
];

const newestSource = Math.max(
  ...readdirSync(srcDir).filter((f) => f.endsWith(".ts")).map((f) => statSync(join(srcDir, f)).mtimeMs),
  statSync(new URL(import.meta.url)).mtimeMs,
);
function upToDate(path) {
  try {
    return statSync(path).mtimeMs > newestSource;
  } catch {
    return false;
  }
}

mkdirSync(outDir, { recursive: true });
for (const t of targets) {
  const out = join(outDir, t.file);
  if (!force && upToDate(out)) continue;
  // Write under a temporary name and rename: concurrent test runs never see half a module.
  const tmp = `${out}.${process.pid}.tmp`;
  const { error, stderr } = await asc.main([join(srcDir, "index.ts"), ...common, ...t.flags, "-o", tmp]);
  if (error) {
    console.error(stderr.toString());
    console.error(`build-wasm: ${t.file} failed: ${error.message}`);
    process.exit(1);
  }
  renameSync(tmp, out);
  console.error(`build-wasm: wrote ${out}`);
}
