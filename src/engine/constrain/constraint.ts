// The logits processor the generate loop uses: compile a spec (JSON object, JSON Schema, or a forced
// Hermes tool call) into a grammar once, then mask / accept token by token. Forks share the grammar
// and the mask cache; their states are immutable lists of alternatives.
import { QwenrtError } from "../../util/errors.js";
import { isObject } from "../../util/json.js";
import { ANY, type GNode, GrammarBuilder, SYM_BASE } from "./grammar.js";
import { MaskComputer, applyMask } from "./mask.js";
import { advance, canEnd } from "./alts.js";
import { type Alt, initialState } from "./matcher.js";
import { type Unenforced, compileSchema } from "./schema.js";
import { xmlToolCallGrammar } from "./tool-call-xml.js";
import { type Violation, validateJson } from "./validate.js";
import type { PreparedVocab } from "./vocab.js";

/** An OpenAI-style function tool. */
export interface ToolSpec {
  readonly type?: "function";
  readonly function: { readonly name: string; readonly parameters?: unknown; readonly strict?: boolean };
}

/** What the output must be. `prefix` is literal text forced first (special-token text becomes that token). */
export type ConstraintSpec =
  | { readonly kind: "json_object"; readonly prefix?: string }
  | { readonly kind: "json_schema"; readonly schema: unknown; readonly strict?: boolean; readonly where?: string; readonly prefix?: string }
  | {
      readonly kind: "tool_call";
      readonly tools: readonly ToolSpec[];
      /** Force this function (OpenAI named `tool_choice`): exactly one call. */
      readonly name?: string;
      /** Without `name`: allow several calls, one after another (default true). */
      readonly parallel?: boolean;
      readonly where?: string;
      readonly prefix?: string;
      /** How the model writes a call: Hermes JSON blocks (default) or Qwen3.5's XML blocks
       * (`<function=NAME>` with one `<parameter=K>` block per argument). */
      readonly format?: "hermes" | "xml";
    };

/** A per-sequence logits processor. */
export interface Constraint {
  /** Set the logits of every token not allowed now to -Infinity. */
  mask(logits: Float32Array): void;
  /** Bitset of allowed token ids (bit i of word i >>> 5); do not modify. */
  allowedBits(): Uint32Array;
  /** Advance by a sampled token; throws a QwenrtError if it was not allowed. */
  accept(tokenId: number): void;
  /** Whether `accept(tokenId)` would succeed (same check, no exception, no state change). */
  canAccept(tokenId: number): boolean;
  /** Whether the text so far is a complete match (EOS is allowed now, or was accepted). */
  isComplete(): boolean;
  /** Whether EOS has been accepted (nothing more is allowed). */
  isFinished(): boolean;
  /** An independent copy at the same position (shares the grammar and mask cache). */
  fork(): Constraint;
}

/** A spec compiled against a vocabulary; reuse it for every request with the same spec. */
export interface CompiledConstraint {
  readonly root: GNode;
  readonly masks: MaskComputer;
  /** Schema keywords the grammar does not enforce exactly: `check` covers them after generation. */
  readonly unenforced: readonly Unenforced[];
  /**
   * Check a finished output against its schema: the JSON text (json_schema), or with `tool` the
   * arguments text of a call to that function. Unparsable JSON is a violation with keyword "json".
   */
  check(text: string, tool?: string): Violation[];
  /** A new constraint at the start of the output. */
  start(): Constraint;
}

/**
 * Compile `spec` for `vocab` and start a constraint at the beginning of the output.
 *
 * @example
 * const c = createConstraint({ kind: "json_schema", schema: { type: "object", properties: { n: { type: "integer" } }, required: ["n"] } }, vocab);
 * c.mask(logits); const id = sample(logits); c.accept(id);
 */
export function createConstraint(spec: ConstraintSpec, vocab: PreparedVocab): Constraint {
  return compileConstraint(spec, vocab).start();
}

/** Compile once (grammar + mask cache); `start()` per sequence. */
export function compileConstraint(spec: ConstraintSpec, vocab: PreparedVocab): CompiledConstraint {
  const b = new GrammarBuilder();
  const text = (t: string): GNode => textNode(b, vocab, t);
  const unenforced: Unenforced[] = [];
  const schemas = new Map<string | undefined, unknown>();
  let body: GNode;
  switch (spec.kind) {
    case "json_object":
      body = ANY.obj;
      schemas.set(undefined, { type: "object" });
      break;
    case "json_schema":
      body = compileSchema(spec.schema, b, { where: spec.where ?? "response_format.json_schema.schema", strict: spec.strict, unenforced });
      schemas.set(undefined, spec.schema);
      break;
    case "tool_call":
      body = spec.format === "xml" ? xmlToolCallGrammar(b, text, spec) : toolCallGrammar(b, text, spec, unenforced, schemas);
      break;
    default: {
      const bad: unknown = spec;
      throw new QwenrtError("constraint.kind", `unknown constraint kind ${JSON.stringify(isObject(bad) ? bad.kind : bad)}`);
    }
  }
  const root = spec.prefix === undefined || spec.prefix === "" ? body : b.seq([text(spec.prefix), body]);
  const masks = new MaskComputer(vocab);
  const check = (out: string, tool?: string): Violation[] => {
    if (!schemas.has(tool)) return [{ path: "", keyword: "name", message: `no schema for ${tool === undefined ? "the output" : `tool ${JSON.stringify(tool)}`}` }];
    let value: unknown;
    try {
      value = JSON.parse(out);
    } catch (e) {
      return [{ path: "", keyword: "json", message: `not valid JSON (${(e as Error).message})` }];
    }
    return validateJson(value, schemas.get(tool));
  };
  return { root, masks, unenforced, check, start: () => new StateConstraint(masks, initialState(root), false) };
}

/** Literal text; substrings equal to a special token's text become that token. */
function textNode(b: GrammarBuilder, vocab: PreparedVocab, t: string): GNode {
  const parts: GNode[] = [];
  let plain = "";
  for (let i = 0; i < t.length; ) {
    let hit: [string, number] | undefined;
    for (const [s, id] of vocab.specialByText) {
      if (s.length > 0 && t.startsWith(s, i) && (hit === undefined || s.length > hit[0].length)) hit = [s, id];
    }
    if (hit === undefined) {
      plain += t[i++];
      continue;
    }
    if (plain !== "") parts.push(b.lit(plain));
    plain = "";
    parts.push(b.sym(hit[1]));
    i += hit[0].length;
  }
  if (plain !== "") parts.push(b.lit(plain));
  return b.seq(parts);
}

/** `<tool_call>\n{"name": NAME, "arguments": ARGS}\n</tool_call>`, once or repeated with "\n" between. */
function toolCallGrammar(
  b: GrammarBuilder,
  text: (t: string) => GNode,
  spec: Extract<ConstraintSpec, { kind: "tool_call" }>,
  unenforced: Unenforced[],
  schemas: Map<string | undefined, unknown>,
): GNode {
  const where = spec.where ?? "tools";
  if (!Array.isArray(spec.tools) || spec.tools.length === 0) throw new QwenrtError(where, "must be a non-empty array of function tools");
  const seen = new Set<string>();
  const calls: GNode[] = [];
  spec.tools.forEach((tool, i) => {
    const fn: unknown = isObject(tool) ? tool.function : undefined;
    if (!isObject(fn) || typeof fn.name !== "string" || fn.name === "") throw new QwenrtError(`${where}[${i}].function.name`, "must be a non-empty string");
    if (seen.has(fn.name)) throw new QwenrtError(`${where}[${i}].function.name`, `duplicate function name ${JSON.stringify(fn.name)}`);
    seen.add(fn.name);
    if (spec.name !== undefined && fn.name !== spec.name) return;
    const params = fn.parameters ?? { type: "object", properties: {} };
    const strict = typeof fn.strict === "boolean" ? fn.strict : true;
    const args = compileSchema(params, b, { where: `${where}[${i}].function.parameters`, strict, unenforced });
    schemas.set(fn.name, params);
    calls.push(b.seq([b.lit(`{"name": ${JSON.stringify(fn.name)}, "arguments": `), args, b.lit("}")]));
  });
  if (calls.length === 0) throw new QwenrtError("tool_choice.function.name", `no tool named ${JSON.stringify(spec.name)}`);
  const one = b.seq([text("<tool_call>\n"), b.alt(calls), text("\n</tool_call>")]);
  if (spec.name !== undefined || spec.parallel === false) return one;
  const many = b.ref(`${where} (repeated calls)`);
  many.target = b.seq([one, b.alt([b.seq([]), b.seq([b.lit("\n"), many])])]);
  return many;
}

/** Marks the state after EOS. */
const FINISHED: readonly Alt[] = [];

/** Cap on simultaneous alternatives: an ambiguous schema must not blow up per-token work. */
const MAX_ALTERNATIVES = 256;

class StateConstraint implements Constraint {
  private bits: Uint32Array | null = null;

  constructor(
    private readonly masks: MaskComputer,
    private state: readonly Alt[],
    private finished: boolean,
  ) {}

  allowedBits(): Uint32Array {
    if (this.bits === null) {
      this.bits = this.finished ? new Uint32Array(this.masks.vocab.words) : this.masks.allowed(this.state);
    }
    return this.bits;
  }

  mask(logits: Float32Array): void {
    applyMask(this.allowedBits(), logits);
  }

  accept(tokenId: number): void {
    const r = this.next(tokenId);
    if (typeof r === "string") {
      throw new QwenrtError("constraint", `token ${tokenId} is not allowed here (${r})`, { code: "constraint_violation" });
    }
    if (r.length > MAX_ALTERNATIVES) {
      throw new QwenrtError("constraint", `grammar is too ambiguous (over ${MAX_ALTERNATIVES} simultaneous parses); make anyOf branches distinguishable early`);
    }
    if (r === FINISHED) this.finished = true;
    else this.state = r;
    this.bits = null;
  }

  canAccept(tokenId: number): boolean {
    return typeof this.next(tokenId) !== "string";
  }

  /** The state after `tokenId`, FINISHED after EOS, or why the token is not allowed. */
  private next(tokenId: number): readonly Alt[] | string {
    const v = this.masks.vocab;
    if (!Number.isInteger(tokenId) || tokenId < 0 || tokenId >= v.size) return "out of range";
    if (this.finished) return "output already finished";
    if (v.eosIds.includes(tokenId)) return this.state.some(canEnd) ? FINISHED : "end of sequence before the output is complete";
    if (tokenId >= v.tokenBytes.length) return "no such token";
    const bytes = v.tokenBytes[tokenId];
    let state = this.state;
    if (v.isSpecial[tokenId] === 1) state = advance(state, SYM_BASE + tokenId);
    else if (bytes.length === 0) state = [];
    else for (let i = 0; i < bytes.length && state.length > 0; i++) state = advance(state, bytes[i]);
    if (state.length === 0) return `${JSON.stringify(new TextDecoder().decode(bytes))} does not fit the grammar`;
    return state;
  }

  isComplete(): boolean {
    return this.finished || this.state.some(canEnd);
  }

  isFinished(): boolean {
    return this.finished;
  }

  fork(): Constraint {
    return new StateConstraint(this.masks, this.state, this.finished);
  }
}
