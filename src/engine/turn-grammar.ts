/**
 * Which grammar a chat turn's answer must follow (a forced tool call, JSON, a JSON Schema) and a
 * per-model cache of compiled grammars, so repeated schemas cost nothing after the first request.
 */
import type { ChatRequest } from "../chat/messages.js";
import type { Tokenizer } from "../tokenizer/index.js";
import { QwenrtError } from "../util/errors.js";
import { checkSchemaSize, compileConstraint, prepareVocab, type CompiledConstraint, type ConstraintSpec, type PreparedVocab, type ToolSpec } from "./constrain/index.js";
import { detokenizerSource, eosIdsOf } from "./generate.js";
import type { LogitsModel } from "./types.js";

/** OpenAI's `tool_choice`: "none" hides the tools from the model; a name forces that function. */
export type ToolChoice = "none" | "auto" | "required" | { readonly name: string };

/** OpenAI's `response_format`, after validation. */
export type ResponseFormat =
  | { readonly type: "text" }
  | { readonly type: "json_object" }
  | {
      readonly type: "json_schema";
      readonly schema: unknown;
      readonly strict: boolean;
      /** The schema's parameter path in errors and `schema_check` (default `response_format.json_schema.schema`). */
      readonly where?: string;
    };

/** A grammar for the answer and whether completing it ends the generation (no EOS needed). */
export interface TurnGrammarSpec {
  readonly spec: ConstraintSpec;
  readonly endsGeneration: boolean;
}

function toolSpecs(tools: ChatRequest["tools"]): ToolSpec[] {
  return (tools ?? []).map((t, i) => {
    const fn = t.function;
    if (fn === undefined) throw new QwenrtError(`tools[${i}].function`, "is required", { code: "invalid_request" });
    return { function: { name: fn.name, parameters: fn.parameters, ...(typeof fn.strict === "boolean" ? { strict: fn.strict } : {}) } };
  });
}

/**
 * The grammar a turn needs, if any: a tool call when `tool_choice` is "required" (several calls
 * allowed with `parallel`) or names a function, written as the template writes calls (`toolFormat`:
 * Hermes JSON or Qwen3.5's XML), else JSON for a JSON `response_format`. Its schemas'
 * sizes are checked here (`checkSchemaSize`), so a caller can refuse one before compiling anything.
 *
 * @example
 * turnGrammar(req.tools, "required", false, undefined); // { spec: { kind: "tool_call", ... }, endsGeneration: true }
 */
export function turnGrammar(
  tools: ChatRequest["tools"],
  toolChoice: ToolChoice,
  parallel: boolean,
  format: ResponseFormat | undefined,
  toolFormat: "hermes" | "xml" = "hermes",
): TurnGrammarSpec | undefined {
  const sized = (specs: ToolSpec[]): ToolSpec[] => {
    specs.forEach((t, i) => checkSchemaSize(t.function.parameters ?? {}, `tools[${i}].function.parameters`));
    return specs;
  };
  if (toolChoice === "required") {
    return { spec: { kind: "tool_call", tools: sized(toolSpecs(tools)), parallel, where: "tools", format: toolFormat }, endsGeneration: !parallel };
  }
  if (typeof toolChoice === "object") {
    return { spec: { kind: "tool_call", tools: sized(toolSpecs(tools)), name: toolChoice.name, where: "tools", format: toolFormat }, endsGeneration: true };
  }
  if (format?.type === "json_object") return { spec: { kind: "json_object" }, endsGeneration: true };
  if (format?.type === "json_schema") {
    const where = format.where ?? "response_format.json_schema.schema";
    checkSchemaSize(format.schema, where);
    return { spec: { kind: "json_schema", schema: format.schema, strict: format.strict, where }, endsGeneration: true };
  }
  return undefined;
}

/**
 * Grammars compiled for one model's vocabulary, cached by spec (at most `limit`, oldest out first).
 *
 * @example
 * const grammars = new GrammarCache(tokenizer, model);
 * const constraint = grammars.compile({ kind: "json_object" }).start();
 */
export class GrammarCache {
  private vocab: PreparedVocab | undefined;
  private readonly compiled = new Map<string, CompiledConstraint>();

  constructor(
    private readonly tokenizer: Tokenizer,
    private readonly model: Pick<LogitsModel, "config" | "generation">,
    private readonly limit = 64,
  ) {}

  /** Compile `spec` (or return the cached compilation); errors name the field at fault. */
  compile(spec: ConstraintSpec): CompiledConstraint {
    const key = JSON.stringify(spec);
    const hit = this.compiled.get(key);
    if (hit !== undefined) return hit;
    const tok = this.tokenizer;
    this.vocab ??= prepareVocab({
      tokenStrings: Array.from({ length: tok.vocabSize }, (_, id) => tok.tokenBytes(id) ?? new Uint8Array(0)),
      specialIds: tok.addedTokenIds(),
      // The ids the generate loop stops on, so a grammar ends where generation does.
      eosIds: [...eosIdsOf(this.model, detokenizerSource(tok))],
      vocabSize: this.model.config.vocabSize,
    });
    const compiled = compileConstraint(spec, this.vocab);
    if (this.compiled.size >= this.limit) this.compiled.delete(this.compiled.keys().next().value as string);
    this.compiled.set(key, compiled);
    return compiled;
  }
}
