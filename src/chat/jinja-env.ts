/**
 * Python-Jinja compatibility for `@huggingface/jinja`, applied from our side (node_modules stays
 * untouched). Chat templates are written for Python Jinja as transformers runs it; where the JS
 * library's semantics differ in a way templates rely on, this module restores Python's.
 *
 * Differences fixed here (each found by rendering against Python Jinja 3.1):
 * - `str.strip/lstrip/rstrip(chars)`: the library ignores `chars` and trims all whitespace, so Qwen's
 *   `content.lstrip('\n')` would also eat leading spaces. We evaluate these calls with Python semantics.
 * - `str.strip()` without arguments: Python's whitespace set (`str.isspace`) differs from JS `trim()`
 *   (Python strips U+001C..U+001F and U+0085, JS strips U+FEFF).
 * - the `trim(chars)` filter: same as `str.strip(chars)` in Python Jinja.
 * - `raise_exception(msg)`: the global transformers provides to templates.
 *
 * Verified to already match Python (and so left alone): `tojson` (transformers uses
 * `ensure_ascii=False`, `", "`/`": "` separators, insertion key order), `split(sep)`, `startswith`,
 * `endswith`, `[::-1]`, `messages|length`, `namespace()`, `in` on strings, `is string`/`is defined`.
 */
import * as jinja from "@huggingface/jinja";

// The package's .d.ts files import each other without extensions, which NodeNext resolution cannot
// follow, so its types arrive as `any`. We declare the small surface we use and bind it once here.
/** An AST node (the library's `Statement`). */
type Node = { type: string };
/** A runtime value of the interpreter (`StringValue`, `ObjectValue`, ...). */
type Value = { type: string; value: unknown };
type JinjaEnvironment = { set(name: string, value: unknown): Value };
type JinjaInterpreter = {
  evaluate(node: Node | undefined, env: JinjaEnvironment): Value;
  evaluateBlock(statements: Node[], env: JinjaEnvironment): Value;
  run(program: Node): Value;
};
/** A parsed template. */
export type JinjaTemplate = { parsed: Node };
const Environment: new () => JinjaEnvironment = jinja.Environment;
const Interpreter: new (env: JinjaEnvironment) => JinjaInterpreter = jinja.Interpreter;
const Template: new (source: string) => JinjaTemplate = jinja.Template;

/** Parse template source (throws the library's error on bad syntax). */
export function parseTemplate(source: string): JinjaTemplate {
  return new Template(source);
}

// Python's str.isspace() set, used by strip()/split() without arguments.
const PY_WHITESPACE = new Set(
  Array.from(
    "\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000",
  ),
);

/**
 * Python's `str.strip/lstrip/rstrip(chars)`: remove code points in `chars` (whitespace when `chars`
 * is `null`) from the chosen side(s).
 *
 * @example
 * pyStrip("\n\n  hi\n", "\n", "left"); // "  hi\n"
 */
export function pyStrip(s: string, chars: string | null, side: "both" | "left" | "right"): string {
  const set = chars === null ? PY_WHITESPACE : new Set(Array.from(chars));
  const cps = Array.from(s);
  let start = 0;
  let end = cps.length;
  if (side !== "right") while (start < end && set.has(cps[start])) start++;
  if (side !== "left") while (end > start && set.has(cps[end - 1])) end--;
  return start === 0 && end === cps.length ? s : cps.slice(start, end).join("");
}

const STRIP_SIDES = { strip: "both", lstrip: "left", rstrip: "right" } as const;
type StripName = keyof typeof STRIP_SIDES;

function isNode(x: unknown): x is Node {
  return typeof x === "object" && x !== null && "type" in x && typeof x.type === "string";
}

function isStripName(x: unknown): x is StripName {
  return x === "strip" || x === "lstrip" || x === "rstrip";
}

/** `<receiver>.strip(args)` with a plain (non-computed) method name: the receiver and the args. */
function stripMethodCall(node: Node): { receiver: Node; side: StripName; args: Node[] } | undefined {
  if (node.type !== "CallExpression" || !("callee" in node) || !("args" in node)) return undefined;
  const { callee, args } = node;
  if (!isNode(callee) || callee.type !== "MemberExpression" || !Array.isArray(args)) return undefined;
  if (!("object" in callee) || !("property" in callee) || !("computed" in callee) || callee.computed !== false) {
    return undefined;
  }
  const { object, property } = callee;
  if (!isNode(object) || !isNode(property) || property.type !== "Identifier" || !("value" in property)) return undefined;
  if (!isStripName(property.value) || !args.every(isNode)) return undefined;
  return { receiver: object, side: property.value, args };
}

/** `<operand> | trim` or `<operand> | trim(chars)`. */
function trimFilter(node: Node): { operand: Node; args: Node[] } | undefined {
  if (node.type !== "FilterExpression" || !("operand" in node) || !("filter" in node)) return undefined;
  const { operand, filter } = node;
  if (!isNode(operand) || !isNode(filter)) return undefined;
  if (filter.type === "Identifier" && "value" in filter && filter.value === "trim") return { operand, args: [] };
  if (filter.type === "CallExpression" && "callee" in filter && "args" in filter) {
    const { callee, args } = filter;
    if (isNode(callee) && callee.type === "Identifier" && "value" in callee && callee.value === "trim") {
      if (Array.isArray(args) && args.every(isNode)) return { operand, args };
    }
  }
  return undefined;
}

/**
 * Bounds on one rendering: a template that loops or grows its output without end (a broken or
 * hostile model file) stops with an error instead of taking the process's CPU and memory.
 */
export interface RenderLimits {
  /** Wall-clock time for one render. */
  readonly timeMs: number;
  /** Characters of output, counted per block as it is produced (nested blocks count again). */
  readonly outputChars: number;
}

/** Default bounds: far above any real chat prompt (a 40K-token context is ~5 M characters). */
export const DEFAULT_RENDER_LIMITS: RenderLimits = { timeMs: 5_000, outputChars: 256 * 2 ** 20 };

/** Thrown when a render passes its `RenderLimits`. */
export class RenderLimitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RenderLimitError";
  }
}

/** Python's `range()` builds a list: at most this many items. */
const MAX_RANGE = 100_000;

/** An interpreter whose string stripping follows Python (only string receivers are affected), within limits. */
class PythonCompatInterpreter extends Interpreter {
  private steps = 0;
  private emitted = 0;
  private readonly deadline: number;

  constructor(
    env: JinjaEnvironment,
    private readonly limits: RenderLimits,
  ) {
    super(env);
    this.deadline = performance.now() + limits.timeMs;
  }

  override evaluateBlock(statements: Node[], env: JinjaEnvironment): Value {
    this.tick(); // a loop over an empty body evaluates no node
    const out = super.evaluateBlock(statements, env);
    if (typeof out.value === "string") {
      this.emitted += out.value.length;
      if (this.emitted > this.limits.outputChars) throw new RenderLimitError(`output passed ${this.limits.outputChars} characters`);
    }
    return out;
  }

  private tick(): void {
    if ((++this.steps & 255) === 0 && performance.now() > this.deadline) {
      throw new RenderLimitError(`rendering took longer than ${this.limits.timeMs} ms`);
    }
  }

  override evaluate(node: Node | undefined, env: JinjaEnvironment): Value {
    this.tick();
    if (node !== undefined) {
      const call = stripMethodCall(node);
      if (call !== undefined) {
        const r = this.pythonStrip(call.receiver, call.args, STRIP_SIDES[call.side], env, call.side);
        if (r !== undefined) return r;
      }
      const trim = trimFilter(node);
      if (trim !== undefined) {
        const r = this.pythonStrip(trim.operand, trim.args, "both", env, "trim");
        if (r !== undefined) return r;
      }
    }
    const v = super.evaluate(node, env);
    if (typeof v.value === "string" && v.value.length > this.limits.outputChars) {
      throw new RenderLimitError(`a value passed ${this.limits.outputChars} characters`);
    }
    return v;
  }

  // undefined = the receiver is not a string: let the library handle it (e.g. a dict's own key).
  private pythonStrip(
    receiver: Node,
    args: Node[],
    side: "both" | "left" | "right",
    env: JinjaEnvironment,
    name: string,
  ): Value | undefined {
    const target = this.evaluate(receiver, env);
    const s = target.value;
    if (typeof s !== "string") return undefined;
    if (args.length > 1) throw new Error(`${name}() takes at most 1 argument (${args.length} given)`);
    let chars: string | null = null;
    if (args.length === 1) {
      const a = this.evaluate(args[0], env).value;
      if (typeof a === "string") chars = a;
      else if (a !== null && a !== undefined) throw new Error(`${name} arg must be None or str`);
    }
    // A throwaway environment turns a JS string into the library's StringValue (its classes are private).
    return new Environment().set("_", pyStrip(s, chars, side));
  }
}

// Python's range(stop) / range(start, stop[, step]).
function pyRange(a: unknown, b?: unknown, c?: unknown): number[] {
  const nums = [a, b, c].filter((x) => x !== undefined && x !== null);
  if (!nums.every((x): x is number => typeof x === "number" && Number.isInteger(x))) {
    throw new Error("range() arguments must be integers");
  }
  const [start, stop, step] = nums.length === 1 ? [0, nums[0], 1] : [nums[0], nums[1], nums[2] ?? 1];
  if (step === 0) throw new Error("range() arg 3 must not be zero");
  if (Math.ceil((stop - start) / step) > MAX_RANGE) throw new RenderLimitError(`range() of more than ${MAX_RANGE} items`);
  const out: number[] = [];
  for (let i = start; step > 0 ? i < stop : i > stop; i += step) out.push(i);
  return out;
}

/**
 * Render a parsed template with Python-Jinja semantics (see this module's notes) and the globals
 * transformers gives chat templates, within `limits` (a `RenderLimitError` past them).
 *
 * @example
 * renderPython(parseTemplate("{{ x.lstrip('\\n') }}"), { x: "\n  a" }, fail); // "  a"
 */
export function renderPython(
  template: JinjaTemplate,
  vars: Record<string, unknown>,
  onRaise: (msg: string) => never,
  limits: RenderLimits = DEFAULT_RENDER_LIMITS,
): string {
  const env = new Environment();
  // The library's own globals (its `setupGlobals` is not exported), then transformers' additions.
  for (const [k, v] of [["true", true], ["false", false], ["none", null], ["True", true], ["False", false], ["None", null]] as const) {
    env.set(k, v);
  }
  env.set("range", pyRange);
  env.set("raise_exception", (msg: unknown) => onRaise(String(msg)));
  for (const [k, v] of Object.entries(vars)) env.set(k, v);
  const result = new PythonCompatInterpreter(env, limits).run(template.parsed).value;
  if (typeof result !== "string") throw new Error(`template produced ${typeof result}, not text`);
  if (result.length > limits.outputChars) throw new RenderLimitError(`output passed ${limits.outputChars} characters`);
  return result;
}
