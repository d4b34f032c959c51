// Checks over a compiled schema: which oneOf branches provably exclude each other, which array items
// are a small set of literals (uniqueItems then has an exact grammar), and that every node admits a
// finite value.
import { QwenrtError } from "../../util/errors.js";
import { isObject } from "../../util/json.js";
import { type GNode, type LitNode, collect } from "./grammar.js";
import { without } from "./schema-facets.js";

/** The literals a node is a choice of (at most 30, for a bitmask), or null. */
export function literals(n: GNode): LitNode[] | null {
  const t = n.k === "ref" && n.target !== null ? n.target : n;
  const list = t.k === "lit" ? [t] : t.k === "alt" && t.options.every((o) => o.k === "lit") ? (t.options as LitNode[]) : null;
  return list !== null && list.length <= 30 ? list : null;
}

/** Whether oneOf branches provably exclude each other (types, constants or a discriminating property). */
export function branchesDisjoint(list: readonly unknown[], root: unknown): boolean {
  const deref = (s: unknown, depth = 0): Record<string, unknown> => {
    if (!isObject(s)) return {};
    if (typeof s.$ref === "string" && depth < 8) {
      const m = /^#\/(\$defs|definitions)\/([^/]+)$/.exec(s.$ref);
      const defs = m !== null && isObject(root) ? root[m[1]] : undefined;
      if (s.$ref === "#") return deref(root, depth + 1);
      return m !== null && isObject(defs) ? { ...deref(defs[m[2]], depth + 1), ...without(s, "$ref") } : s;
    }
    return s;
  };
  const valuesOf = (s: Record<string, unknown>): string[] | null =>
    s.const !== undefined ? [JSON.stringify(s.const)] : Array.isArray(s.enum) ? s.enum.map((v) => JSON.stringify(v)) : null;
  const info = list.map((x) => {
    const s = deref(x);
    const props = isObject(s.properties) ? s.properties : {};
    const req = Array.isArray(s.required) ? s.required : [];
    const tags = new Map<string, string[]>();
    for (const r of req) if (typeof r === "string") { const v = valuesOf(deref(props[r])); if (v !== null) tags.set(r, v); }
    const t = s.type === undefined ? null : (Array.isArray(s.type) ? s.type : [s.type]).map((y) => (y === "integer" ? "number" : String(y)));
    return { types: t, values: valuesOf(s), tags };
  });
  const apart = (a: string[], b: string[]): boolean => !a.some((x) => b.includes(x));
  return info.every((a, i) => info.every((b, j) => {
    if (j <= i) return true;
    if (a.types !== null && b.types !== null && apart(a.types, b.types)) return true;
    if (a.values !== null && b.values !== null && apart(a.values, b.values)) return true;
    return [...a.tags].some(([k, v]) => b.tags.has(k) && apart(v, b.tags.get(k) as string[]));
  }));
}

/**
 * Reject schemas with a node that admits no finite value (e.g. a required property that recursively
 * requires itself): generation could never finish once it entered that branch.
 */
export function checkProductive(root: GNode): void {
  const all: GNode[] = [];
  collect(root, new Set(), all);
  const ok = new Set<number>();
  for (let changed = true; changed; ) {
    changed = false;
    for (const n of all) {
      if (ok.has(n.id)) continue;
      let p: boolean;
      switch (n.k) {
        case "obj": p = n.props.every((x) => !x.required || ok.has(x.value.id)); break;
        case "arr": p = n.prefix.slice(0, n.minItems).every((x) => ok.has(x.id)) && (n.minItems <= n.prefix.length || ok.has(n.items.id)); break;
        case "seq": p = n.items.every((x) => ok.has(x.id)); break;
        case "alt": p = n.options.some((x) => ok.has(x.id)); break;
        case "ref": p = n.target !== null && ok.has(n.target.id); break;
        default: p = true;
      }
      if (p) {
        ok.add(n.id);
        changed = true;
      }
    }
  }
  const bad = all.filter((n) => !ok.has(n.id));
  if (bad.length > 0) {
    // Name the innermost unproductive reference (the root's own reference is the least specific).
    const refs = bad.flatMap((n) => (n.k === "ref" ? [n.where] : [])).sort((a, b) => b.length - a.length);
    throw new QwenrtError(refs[0] ?? "schema", "recursive schema admits no finite value (a required property or minItems recursion never ends)");
  }
}
