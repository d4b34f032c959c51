#!/usr/bin/env node
// Empties dist/ before `tsc -p tsconfig.build.json` writes it, so JavaScript from an earlier build
// (a since-moved module, a test helper) never ships. The compiled wasm kernels stay: build-wasm.mjs
// rebuilds them only when their sources changed.
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";

const dist = new URL("../dist/", import.meta.url).pathname;
const keep = (rel) => /^kernels\/wasm\/[^/]+\.wasm$/.test(rel);

/** Remove everything under `dir` except kept files; returns whether anything was kept. */
function clean(dir, rel) {
  let kept = false;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const r = rel + e.name;
    if (e.isDirectory()) {
      if (clean(join(dir, e.name), `${r}/`)) kept = true;
      else rmSync(join(dir, e.name), { recursive: true, force: true });
    } else if (keep(r)) kept = true;
    else rmSync(join(dir, e.name), { force: true });
  }
  return kept;
}

try {
  clean(dist, "");
} catch (e) {
  if (e.code !== "ENOENT") throw e;
}
