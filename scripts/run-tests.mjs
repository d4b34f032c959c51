#!/usr/bin/env node
// Type-checks src/, test/ and bench/ (tests included), then runs every *.test.ts under src/ and test/
// with Node's own test runner (TypeScript through tsx; tsx does not check types, hence tsc first).
// Usage: npm test [-- path-filter ...]   e.g. `npm test -- tokenizer` runs files whose path contains
// "tokenizer", without the type check (run `npm run typecheck` for that alone).
// Tests run with TMPDIR pointing at a directory of their own, removed afterwards: whatever a test
// leaves in its temporary directory (model copies, synthesized checkpoints) does not outlive the run.
// The directory is named after the runner's pid; one left by a run that was killed (its pid gone) is
// removed by the next run, and SIGINT / SIGTERM stop the tests and still remove it.
import { createRequire } from "node:module";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { constants, tmpdir } from "node:os";
import { join, relative } from "node:path";
import { spawn, spawnSync } from "node:child_process";

const root = new URL("..", import.meta.url).pathname;
const filters = process.argv.slice(2);

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name === "fixtures" || name.startsWith(".")) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith(".test.ts")) out.push(relative(root, p));
  }
  return out;
}

const files = [...walk(join(root, "src"), []), ...walk(join(root, "test"), [])]
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error(`no test files match ${JSON.stringify(filters)}`);
  process.exit(1);
}
if (filters.length === 0) {
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  console.log("# type check: tsc --noEmit -p tsconfig.json");
  const t = spawnSync(process.execPath, [tsc, "--noEmit", "-p", "tsconfig.json"], { cwd: root, stdio: "inherit" });
  if (t.status !== 0) {
    console.error("type check failed (tsc --noEmit -p tsconfig.json); no tests run");
    process.exit(t.status ?? 1);
  }
}
const concurrency = process.env.TEST_CONCURRENCY ?? "2";
for (const name of readdirSync(tmpdir())) {
  const pid = /^qwenrt-tests-(\d+)-/.exec(name)?.[1];
  if (pid === undefined || alive(Number(pid))) continue;
  rmSync(join(tmpdir(), name), { recursive: true, force: true });
  console.log(`# removed ${join(tmpdir(), name)}, left by a test run that was killed`);
}
const tmp = mkdtempSync(join(tmpdir(), `qwenrt-tests-${process.pid}-`));
const child = spawn(
  process.execPath,
  ["--import", "tsx", "--test", `--test-concurrency=${concurrency}`, "--test-reporter=spec", ...files],
  // The quantized-weights cache too: a CLI run of a float fixture quantizes to q8_0 by default.
  { cwd: root, stdio: "inherit", env: { ...process.env, TMPDIR: tmp, TMP: tmp, TEMP: tmp, QWENRT_CACHE_DIR: process.env.QWENRT_CACHE_DIR ?? join(tmp, "qwenrt-cache") } },
);
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => child.kill(sig));
const status = await new Promise((resolve) => child.on("exit", (code, signal) => resolve(code ?? 128 + (constants.signals[signal] ?? 0))));
const left = readdirSync(tmp);
if (left.length > 0) console.log(`# removing ${left.length} temporary entr${left.length === 1 ? "y" : "ies"} the tests left in ${tmp}`);
rmSync(tmp, { recursive: true, force: true });
process.exit(status);

/** Whether process `pid` exists (EPERM: it does, owned by someone else). */
function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === "EPERM";
  }
}
