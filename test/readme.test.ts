// The README's TypeScript snippets compile: each ```ts block is type-checked (strict, ESM, top-level
// await) as a file of its own, with "qwenrt" resolving to the package's entry (src/index.ts) and
// everything else (openai, zod) from node_modules. A deliberately wrong snippet is checked the same
// way and must fail, so the check is shown able to fail.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** The ```ts code blocks of a markdown text. */
export function tsBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

/** Type errors of each snippet, compiled as virtual files in the repository (so node_modules resolves). */
function diagnostics(snippets: readonly string[]): string[][] {
  const files = new Map(snippets.map((text, i) => [join(ROOT, ".readme-snippets", `snippet-${i + 1}.ts`), text]));
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ["lib.es2023.d.ts"],
    types: ["node"],
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    baseUrl: ROOT,
    paths: { qwenrt: ["./src/index.ts"] },
  };
  const host = ts.createCompilerHost(options);
  const { fileExists, readFile, getSourceFile } = host;
  host.fileExists = (f) => files.has(f) || fileExists.call(host, f);
  host.readFile = (f) => files.get(f) ?? readFile.call(host, f);
  host.getSourceFile = (f, lang, onError) => {
    const text = files.get(f);
    return text === undefined ? getSourceFile.call(host, f, lang, onError) : ts.createSourceFile(f, text, lang, true, ts.ScriptKind.TS);
  };
  const program = ts.createProgram([...files.keys()], options, host);
  return [...files.keys()].map((f) =>
    ts.getPreEmitDiagnostics(program, program.getSourceFile(f)).map((d) => {
      const where = d.file !== undefined && d.start !== undefined ? `line ${d.file.getLineAndCharacterOfPosition(d.start).line + 1}: ` : "";
      return `${where}${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
    }),
  );
}

test("every TypeScript snippet in the README type-checks against the package", () => {
  const blocks = tsBlocks(readFileSync(join(ROOT, "README.md"), "utf8"));
  assert.ok(blocks.length >= 3, `found ${blocks.length} ts blocks`);
  const wrong = 'import { openModel } from "qwenrt";\nconst m = await openModel(42);\n';
  const [bad, ...results] = diagnostics([wrong, ...blocks]);
  assert.ok(bad!.some((d) => /number.*string/.test(d)), `the wrong snippet is caught: ${bad!.join("; ")}`);
  results.forEach((errs, i) => assert.deepEqual(errs, [], `README ts block ${i + 1}:\n${blocks[i]}`));
});
