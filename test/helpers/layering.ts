/**
 * The import-direction check of DESIGN.md ("Layers of the code"): every import under src/ points to
 * the same layer or one below it, no files import each other in a cycle, and code that ships in
 * dist/ imports only code that ships. Pure functions over an in-memory file list, so a test can run
 * them on the real tree and on a deliberately wrong one.
 */
import { posix } from "node:path";
import ts from "typescript";

/** Layers from the bottom up; a file may import its own layer's files and lower layers' files. */
export const LAYERS: readonly { readonly name: string; readonly members: readonly string[] }[] = [
  { name: "util", members: ["util/", "version.ts"] },
  { name: "formats/tokenizer/hub", members: ["formats/", "tokenizer/", "hub/"] },
  { name: "kernels", members: ["kernels/"] },
  { name: "models/layers", members: ["models/", "layers/"] },
  { name: "chat", members: ["chat/"] },
  { name: "engine", members: ["engine/"] },
  { name: "cli/server/tools/bench/entry", members: ["cli/", "server/", "tools/", "bench/", "index.ts", "open.ts"] },
];

/** A source file: `path` is relative to src/ with forward slashes, e.g. `kernels/ref/index.ts`. */
export interface SourceText {
  readonly path: string;
  readonly text: string;
}

/** One module reference found in a file. `prefix` marks a template-literal `import(`./dir/${x}`)`. */
export interface ImportRef {
  readonly specifier: string;
  readonly line: number;
  readonly prefix: boolean;
}

/** A broken rule, worded to name the file, the line and the import at fault. */
export interface Violation {
  readonly file: string;
  readonly line: number;
  readonly specifier: string;
  readonly message: string;
}

/**
 * The layer index (0 = bottom) of a path relative to src/, or undefined when no layer claims it.
 * A file directly in src/ is named in LAYERS; its test (`open.test.ts`) sits in the same layer.
 */
export function layerOf(path: string): number | undefined {
  const file = path.includes("/") ? path : path.replace(/\.test\.ts$/, ".ts");
  const i = LAYERS.findIndex((l) => l.members.some((m) => (m.endsWith("/") ? file.startsWith(m) : file === m)));
  return i < 0 ? undefined : i;
}

/**
 * Every module reference in a TypeScript file: `import … from`, side-effect `import "…"`,
 * `export … from`, `import x = require("…")`, dynamic `import("…")` and type-level `import("…")`.
 * A dynamic import whose argument is not a literal yields `specifier: ""` so the caller can refuse it.
 */
export function parseImports(path: string, text: string): ImportRef[] {
  const sf = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out: ImportRef[] = [];
  const add = (node: ts.Node, specifier: string, prefix = false): void => {
    out.push({ specifier, prefix, line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1 });
  };
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier !== undefined) {
      if (ts.isStringLiteral(node.moduleSpecifier)) add(node, node.moduleSpecifier.text);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const e = node.moduleReference.expression;
      if (ts.isStringLiteral(e)) add(node, e.text);
    } else if (ts.isImportTypeNode(node)) {
      const a = node.argument;
      if (ts.isLiteralTypeNode(a) && ts.isStringLiteral(a.literal)) add(node, a.literal.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const a = node.arguments[0];
      if (a !== undefined && ts.isStringLiteralLike(a)) add(node, a.text);
      else if (a !== undefined && ts.isTemplateExpression(a)) add(node, a.head.text, true);
      else add(node, "");
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

const isRelative = (s: string): boolean => s.startsWith("./") || s.startsWith("../");

/** The src/-relative file a relative specifier names (`.js` → `.ts`, extensionless → `.ts`). */
function resolve(from: string, specifier: string, known: ReadonlySet<string>): string {
  const p = posix.normalize(posix.join(posix.dirname(from), specifier));
  if (known.has(p)) return p;
  if (p.endsWith(".js") && known.has(p.slice(0, -3) + ".ts")) return p.slice(0, -3) + ".ts";
  if (known.has(p + ".ts")) return p + ".ts";
  return p.endsWith(".js") ? p.slice(0, -3) + ".ts" : p;
}

/** The folder (ending in "/") a template import's literal head `./dir/` names, relative to src/. */
function prefixDir(from: string, head: string): string {
  const dir = posix.normalize(posix.join(posix.dirname(from), head.slice(0, head.lastIndexOf("/"))));
  return dir === "." ? "" : `${dir}/`;
}

/**
 * Check the import graph of `files`. `shipped` lists the files compiled into dist/ (those may import
 * only each other, or tsc would pull test code into the package); every file not in it is test or
 * build-time code. Returns one violation per broken rule, in file order; empty means the tree holds.
 */
export function checkLayering(files: readonly SourceText[], shipped: ReadonlySet<string>): Violation[] {
  const known = new Set(files.map((f) => f.path));
  const out: Violation[] = [];
  const edges = new Map<string, Map<string, ImportRef>>();
  for (const f of files) {
    const from = layerOf(f.path);
    if (from === undefined) {
      out.push({ file: f.path, line: 1, specifier: "", message: `${f.path} is in no layer of DESIGN.md; add its folder to LAYERS` });
    }
    const targets = new Map<string, ImportRef>();
    edges.set(f.path, targets);
    for (const ref of parseImports(f.path, f.text)) {
      const at = `${f.path}:${ref.line}`;
      const v = (message: string): void => void out.push({ file: f.path, line: ref.line, specifier: ref.specifier, message });
      if (ref.specifier === "" || (ref.prefix && !isRelative(ref.specifier))) {
        const what = ref.specifier === "" ? "import(<expression>)" : `import(\`${ref.specifier}\${…}\`)`;
        v(`${at} → ${what} has no relative path to check; name the module, or a folder as the template's head`);
        continue;
      }
      if (!isRelative(ref.specifier)) continue; // node: builtins and packages
      const target = ref.prefix ? prefixDir(f.path, ref.specifier) : resolve(f.path, ref.specifier, known);
      if (target.startsWith("../")) {
        if (shipped.has(f.path)) v(`${at} → ${ref.specifier}: shipped code imports ${posix.join("src", target)}, outside src/`);
        continue;
      }
      if (!ref.prefix && !known.has(target)) {
        v(`${at} → ${ref.specifier}: resolves to src/${target}, which does not exist`);
        continue;
      }
      if (!ref.prefix) targets.set(target, ref);
      if (!ref.prefix && shipped.has(f.path) && !shipped.has(target)) {
        v(`${at} → ${ref.specifier}: shipped code imports ${target}, which is test-only (not built into dist/)`);
      }
      const to = layerOf(target);
      if (to === undefined) {
        if (ref.prefix) v(`${at} → ${ref.specifier}: names the folder src/${target}, which is in no single layer`);
      } else if (from !== undefined && to > from) {
        v(`${at} → ${ref.specifier}: layer ${LAYERS[from]!.name} imports upward into layer ${LAYERS[to]!.name} (${target})`);
      }
    }
  }
  for (const cycle of findCycles(edges)) {
    const first = cycle[0]!;
    const ref = edges.get(first)!.get(cycle[1] ?? first)!;
    out.push({ file: first, line: ref.line, specifier: ref.specifier, message: `import cycle: ${[...cycle, first].join(" → ")}` });
  }
  return out;
}

/** Each strongly connected group of more than one file, as one cycle path through it (Tarjan). */
function findCycles(edges: ReadonlyMap<string, ReadonlyMap<string, ImportRef>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  const strong = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v)?.keys() ?? []) {
      if (!index.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1) groups.push(group);
    }
  };
  for (const v of [...edges.keys()].sort()) if (!index.has(v)) strong(v);
  return groups.map((g) => cyclePath(g, edges));
}

/** A shortest cycle through the group's alphabetically first file, found by breadth-first search. */
function cyclePath(group: readonly string[], edges: ReadonlyMap<string, ReadonlyMap<string, ImportRef>>): string[] {
  const members = new Set(group);
  const start = [...group].sort()[0]!;
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of edges.get(v)?.keys() ?? []) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path = [v];
        while (path[0] !== start) path.unshift(prev.get(path[0]!)!);
        return path;
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start];
}

/**
 * Shipped files that no chain of imports reaches from `entries` (files, or folders ending in "/"
 * for every shipped file under them): code only tests use, which belongs out of the build.
 */
export function unreachable(files: readonly SourceText[], shipped: ReadonlySet<string>, entries: readonly string[]): string[] {
  const text = new Map(files.map((f) => [f.path, f.text]));
  const known = new Set(text.keys());
  const under = (dir: string): string[] => [...shipped].filter((p) => p.startsWith(dir));
  const seen = new Set<string>();
  const queue = entries.flatMap((e) => (e.endsWith("/") ? under(e) : [e]));
  while (queue.length > 0) {
    const f = queue.pop()!;
    if (seen.has(f) || !text.has(f)) continue;
    seen.add(f);
    for (const ref of parseImports(f, text.get(f)!)) {
      if (!isRelative(ref.specifier)) continue;
      queue.push(...(ref.prefix ? under(prefixDir(f, ref.specifier)) : [resolve(f, ref.specifier, known)]));
    }
  }
  return [...shipped].filter((p) => !seen.has(p)).sort();
}
