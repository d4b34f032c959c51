// The package as users get it: `npm pack`, install the tarball into a temporary prefix (as
// `npm install -g` does) and with `npm exec` (what `npx` runs), then run the installed `qwenrt`:
// `--version`, `synth` (its tokenizer files ship in the package) and `generate`. The pack builds in a
// copy of the sources (its `prepare` script empties and rebuilds dist/), so the repository's own
// dist/ stays untouched while other test files use it. npm itself must not warn about the project's
// configuration on any of these commands.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { name: string; version: string; files: string[] };
const work = mkdtempSync(join(tmpdir(), "qwenrt-pack-"));
after(() => rmSync(work, { recursive: true, force: true }));

const npm = process.platform === "win32" ? "npm.cmd" : "npm";
const quiet = ["--no-audit", "--no-fund", "--prefer-offline", "--loglevel=warn"];

/** Run a command; fail with its output when it fails; return stdout and stderr. */
function run(cmd: string, args: string[], cwd: string): { stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", env: { ...process.env, npm_config_update_notifier: "false" } });
  assert.equal(r.status, 0, `${cmd} ${args.join(" ")} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /Unknown (project|env|user) config/, `npm warned about configuration:\n${r.stderr}`);
  return { stdout: r.stdout, stderr: r.stderr };
}

test("npm pack → install into a prefix and with npm exec → qwenrt --version, synth, generate", { timeout: 15 * 60_000 }, () => {
  // A copy of what the build needs; node_modules is the repository's.
  const src = join(work, "src-copy");
  mkdirSync(src);
  for (const p of ["package.json", "package-lock.json", "README.md", "tsconfig.json", "tsconfig.build.json", "scripts", "src", ...pkg.files.filter((f) => f !== "dist")]) {
    cpSync(join(ROOT, p), join(src, p), { recursive: true });
  }
  symlinkSync(join(ROOT, "node_modules"), join(src, "node_modules"), "dir");
  const packed = run(npm, ["pack", "--json", "--pack-destination", work, ...quiet], src);
  const info = JSON.parse(packed.stdout.slice(packed.stdout.indexOf("["))) as { filename: string; files: { path: string }[] }[];
  const tarball = join(work, info[0]!.filename);
  const files = info[0]!.files.map((f) => f.path);
  for (const f of ["dist/cli/main.js", "dist/index.js", "dist/index.d.ts", "dist/kernels/wasm/kernels.wasm", "test/fixtures/qwen3-tokenizer/tokenizer.json"]) {
    assert.ok(files.includes(f), `${f} is in the package`);
  }
  assert.ok(!files.some((f) => /\.test\.(js|d\.ts)$/.test(f) || f.startsWith("src/")), "no tests or sources in the package");

  // npm install -g into a temporary prefix.
  const prefix = join(work, "prefix");
  run(npm, ["install", "--global", "--prefix", prefix, tarball, ...quiet], work);
  const qwenrt = join(prefix, process.platform === "win32" ? "qwenrt.cmd" : "bin/qwenrt");
  assert.equal(execFileSync(qwenrt, ["--version"], { encoding: "utf8" }), `${pkg.version}\n`);

  const model = join(work, "model");
  const synth = execFileSync(qwenrt, ["synth", "--preset", "tiny-qwen3", "--out", model], { encoding: "utf8" });
  assert.match(synth, /tokenizer: tokenizer\.json, tokenizer_config\.json/);
  assert.ok(readdirSync(model).includes("tokenizer.json"));
  const out = execFileSync(qwenrt, ["generate", model, "--prompt", "Hello", "--max-tokens", "6", "--seed", "1"], { encoding: "utf8" });
  assert.ok(out.length > 1 && out.endsWith("\n"), JSON.stringify(out));

  // npx: npm exec from the tarball (installs into npm's cache, runs the bin).
  const npx = run(npm, ["exec", "--yes", "--package", tarball, ...quiet, "--", "qwenrt", "--version"], work);
  assert.equal(npx.stdout, `${pkg.version}\n`);
});
