// DESIGN.md's import direction holds for every file under src/ (tests included), no files import
// each other, and dist/ ships no test code; each check is also run on a tree built to break it, so
// the check is shown able to fail.
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { checkLayering, LAYERS, layerOf, parseImports, unreachable, type SourceText } from "./helpers/layering.js";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const SRC = join(ROOT, "src");

/** Where the package starts running: its exports and bin, and modules started by path, not import. */
const ENTRIES = [
  "index.ts", // package.json "exports"
  "cli/main.ts", // package.json "bin"; it imports cli/commands/<name>.ts by a template path
  "kernels/wasm/worker.ts", // a Worker started from new URL("./worker.js") in kernels/wasm/pool.ts
  "bench/child.ts", // forked by path in bench/spawn.ts
];

/** Every .ts file under src/, with paths relative to src/ in forward slashes, sorted. */
function sourceFiles(dir = SRC, out: SourceText[] = []): SourceText[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const abs = join(dir, e.name);
    if (e.isDirectory()) sourceFiles(abs, out);
    else if (e.name.endsWith(".ts")) out.push({ path: relative(SRC, abs).split(sep).join("/"), text: readFileSync(abs, "utf8") });
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}

/** The src/ files `tsc -p tsconfig.build.json` compiles into dist/. */
function shippedFiles(): Set<string> {
  const parsed = ts.getParsedCommandLineOfConfigFile(join(ROOT, "tsconfig.build.json"), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => assert.fail(ts.flattenDiagnosticMessageText(d.messageText, "\n")),
  });
  assert.ok(parsed !== undefined && parsed.errors.length === 0, "tsconfig.build.json parses");
  return new Set(parsed.fileNames.map((f) => relative(SRC, f).split(sep).join("/")));
}

const messages = (files: SourceText[], shipped: ReadonlySet<string>): string[] => checkLayering(files, shipped).map((v) => v.message);

test("every import under src/ points along DESIGN.md's layer order, and no files import each other in a cycle", () => {
  const files = sourceFiles();
  assert.ok(files.length > 100, `found ${files.length} files under src/`);
  assert.deepEqual(messages(files, shippedFiles()), []);
});

test("the layer check fails on a tree that breaks each rule, naming the file, line and import", () => {
  const files: SourceText[] = [
    { path: "kernels/ref/bad.ts", text: 'import { step } from "../../engine/step.js";\nexport const x = step;\n' },
    { path: "engine/step.ts", text: "export const step = 1;\n" },
    { path: "formats/lazy.ts", text: 'export const load = () => import("../models/a.js");\n' },
    { path: "util/reexport.ts", text: 'export { b } from "../models/b.js";\n' },
    { path: "layers/typed.ts", text: 'export type T = typeof import("../chat/c.js");\n' },
    { path: "chat/c.ts", text: "export const c = 3;\n" },
    { path: "models/a.ts", text: 'import { b } from "./b.js";\nexport const a = b;\n' },
    { path: "models/b.ts", text: 'import type { a } from "./a.js";\nexport const b = 2;\n' },
    { path: "tokenizer/p.ts", text: 'import "./q.js";\n' },
    { path: "tokenizer/q.ts", text: 'import "./r.js";\n' },
    { path: "tokenizer/r.ts", text: 'import "./p.js";\n' },
    { path: "plugins/x.ts", text: "export const x = 0;\n" },
    { path: "cli/dyn.ts", text: "export const f = (m: string) => import(m);\n" },
    { path: "cli/missing.ts", text: 'import "./gone.js";\n' },
    { path: "cli/helper-user.ts", text: 'import { mock } from "../hub/mock.js";\nimport "../../test/helpers/h.js";\n' },
    { path: "hub/mock.ts", text: "export const mock = 0;\n" },
    { path: "hub/mock.test.ts", text: 'import "../../test/helpers/h.js";\nimport "../engine/step.js";\n' },
  ];
  const shipped = new Set(files.map((f) => f.path).filter((p) => p !== "hub/mock.ts" && !p.endsWith(".test.ts")));
  assert.deepEqual(messages(files, shipped), [
    "kernels/ref/bad.ts:1 → ../../engine/step.js: layer kernels imports upward into layer engine (engine/step.ts)",
    "formats/lazy.ts:1 → ../models/a.js: layer formats/tokenizer/hub imports upward into layer models/layers (models/a.ts)",
    "util/reexport.ts:1 → ../models/b.js: layer util imports upward into layer models/layers (models/b.ts)",
    "layers/typed.ts:1 → ../chat/c.js: layer models/layers imports upward into layer chat (chat/c.ts)",
    "plugins/x.ts is in no layer of DESIGN.md; add its folder to LAYERS",
    "cli/dyn.ts:1 → import(<expression>) has no relative path to check; name the module, or a folder as the template's head",
    "cli/missing.ts:1 → ./gone.js: resolves to src/cli/gone.ts, which does not exist",
    "cli/helper-user.ts:1 → ../hub/mock.js: shipped code imports hub/mock.ts, which is test-only (not built into dist/)",
    "cli/helper-user.ts:2 → ../../test/helpers/h.js: shipped code imports test/helpers/h.ts, outside src/",
    "hub/mock.test.ts:2 → ../engine/step.js: layer formats/tokenizer/hub imports upward into layer engine (engine/step.ts)",
    "import cycle: models/a.ts → models/b.ts → models/a.ts",
    "import cycle: tokenizer/p.ts → tokenizer/q.ts → tokenizer/r.ts → tokenizer/p.ts",
  ]);
});

test("imports are found in every form, and not in comments or strings", () => {
  const text = [
    'import a from "./a.js";',
    'import type { B } from "./b.js";',
    'import "./side.js";',
    'export { c } from "./c.js";',
    'export * as d from "./d.js";',
    "import e = require(\"./e.js\");",
    'const f = await import("./f.js");',
    "const g = await import(`./g/${name}.js`);",
    'type H = typeof import("./h.js");',
    '// import x from "./commented.js";',
    'const s = "import(\\"./in-string.js\\")";',
  ].join("\n");
  assert.deepEqual(
    parseImports("cli/x.ts", text).map((r) => [r.specifier, r.line, r.prefix]),
    [["./a.js", 1, false], ["./b.js", 2, false], ["./side.js", 3, false], ["./c.js", 4, false], ["./d.js", 5, false],
      ["./e.js", 6, false], ["./f.js", 7, false], ["./g/", 8, true], ["./h.js", 9, false]],
  );
});

test("the layer table is DESIGN.md's, bottom up, and places src/'s top-level files", () => {
  assert.deepEqual(LAYERS.map((l) => l.members), [
    ["util/", "version.ts"],
    ["formats/", "tokenizer/", "hub/"],
    ["kernels/"],
    ["models/", "layers/"],
    ["chat/"],
    ["engine/"],
    ["cli/", "server/", "tools/", "bench/", "index.ts", "open.ts"],
  ]);
  assert.deepEqual(["version.ts", "open.test.ts", "kernels/ref/index.ts", "index.ts", "cli/main.ts", "elsewhere.ts"].map(layerOf), [0, 6, 2, 6, 6, undefined]);
});

test("dist/ ships no tests or test helpers: every built file is reachable from the package's entries", () => {
  const shipped = shippedFiles();
  assert.deepEqual([...shipped].filter((p) => p.endsWith(".test.ts")), []);
  for (const e of ENTRIES) assert.ok(shipped.has(e), `entry ${e} is built`);
  assert.deepEqual(unreachable(sourceFiles(), shipped, ENTRIES), []);
});

test("the reachability check names a built file only tests import", () => {
  const files: SourceText[] = [
    { path: "index.ts", text: 'export * from "./hub/api.js";\nexport const cmd = (n: string) => import(`./cli/commands/${n}.js`);\n' },
    { path: "hub/api.ts", text: "export const api = 1;\n" },
    { path: "cli/commands/pull.ts", text: 'import "../../hub/api.js";\n' },
    { path: "hub/mock-hub.ts", text: "export const mock = 1;\n" },
    { path: "hub/api.test.ts", text: 'import "./mock-hub.js";\n' },
  ];
  const shipped = new Set(["index.ts", "hub/api.ts", "cli/commands/pull.ts", "hub/mock-hub.ts"]);
  assert.deepEqual(unreachable(files, shipped, ["index.ts"]), ["hub/mock-hub.ts"]);
  shipped.delete("hub/mock-hub.ts");
  assert.deepEqual(unreachable(files, shipped, ["index.ts"]), []);
});
