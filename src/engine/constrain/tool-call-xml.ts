// The grammar of a forced tool call in the XML format Qwen3.5's chat template renders and
// chat/tools-xml.ts parses:
//
//   <tool_call>\n<function=NAME>\n<parameter=K>\nVALUE\n</parameter>\n…</function>\n</tool_call>
//
// Parameters come in the schema's declared order, required ones always, optional ones or not, no
// undeclared ones. A value is text: a string parameter (or one without a type) any text without
// "</parameter>" (where the parser ends it; one newline before it is markup) — an enum of strings:
// one of its values; any other type its JSON value, as the parser reads it back by the declared type.
import { QwenrtError } from "../../util/errors.js";
import { isObject } from "../../util/json.js";
import type { GNode, GrammarBuilder } from "./grammar.js";
import { compileSchema } from "./schema.js";

const VALUE_END = "\n</parameter>\n";

/** The value of one parameter, its closing tag included. */
function paramValue(b: GrammarBuilder, schema: unknown, where: string, strict: boolean): GNode {
  const types = isObject(schema) ? (Array.isArray(schema.type) ? schema.type : [schema.type]) : [undefined];
  const enumValues = isObject(schema) && Array.isArray(schema.enum) ? schema.enum : undefined;
  if (enumValues !== undefined && enumValues.length > 0 && enumValues.every((v) => typeof v === "string")) {
    return b.seq([b.alt(enumValues.map((v) => b.lit(v as string))), b.lit(VALUE_END)]);
  }
  if (types.some((t) => t === undefined || t === "string")) return b.seq([b.until("</parameter>"), b.lit("\n")]);
  return b.seq([compileSchema(schema, b, { where, strict }), b.lit(VALUE_END)]);
}

/** One call of the function `fn` (`parameters` a JSON Schema object, or none). */
function callOf(b: GrammarBuilder, text: (t: string) => GNode, name: string, parameters: unknown, where: string, strict: boolean): GNode {
  const props = isObject(parameters) && isObject(parameters.properties) ? parameters.properties : {};
  const required = new Set(isObject(parameters) && Array.isArray(parameters.required) ? parameters.required.filter((r): r is string => typeof r === "string") : []);
  for (const r of required) if (!(r in props)) throw new QwenrtError(`${where}.required`, `names ${JSON.stringify(r)}, which "properties" does not declare`);
  const params = Object.entries(props).map(([k, schema]) => {
    if (/[>\n]/.test(k)) throw new QwenrtError(`${where}.properties`, `parameter name ${JSON.stringify(k)} cannot be written as <parameter=${k}>`);
    const p = b.seq([b.lit(`<parameter=${k}>\n`), paramValue(b, schema, `${where}.properties.${k}`, strict)]);
    return required.has(k) ? p : b.alt([p, b.seq([])]);
  });
  return b.seq([text("<tool_call>\n"), b.lit(`<function=${name}>\n`), ...params, b.lit("</function>\n"), text("</tool_call>")]);
}

/** What the XML grammar reads of a `tool_call` constraint (constraint.ts's spec; declared here so the
 * two files do not import each other). */
export interface XmlToolCallSpec {
  readonly tools: readonly unknown[];
  readonly name?: string;
  readonly parallel?: boolean;
  readonly where?: string;
}

/** A forced call (`spec.name`), or one or more (`spec.parallel`) of any of `spec.tools`, in XML. */
export function xmlToolCallGrammar(b: GrammarBuilder, text: (t: string) => GNode, spec: XmlToolCallSpec): GNode {
  const where = spec.where ?? "tools";
  if (!Array.isArray(spec.tools) || spec.tools.length === 0) throw new QwenrtError(where, "must be a non-empty array of function tools");
  const seen = new Set<string>();
  const calls: GNode[] = [];
  spec.tools.forEach((tool, i) => {
    const fn: unknown = isObject(tool) ? tool.function : undefined;
    if (!isObject(fn) || typeof fn.name !== "string" || fn.name === "") throw new QwenrtError(`${where}[${i}].function.name`, "must be a non-empty string");
    if (seen.has(fn.name)) throw new QwenrtError(`${where}[${i}].function.name`, `duplicate function name ${JSON.stringify(fn.name)}`);
    if (/[>\n]/.test(fn.name)) throw new QwenrtError(`${where}[${i}].function.name`, `${JSON.stringify(fn.name)} cannot be written as <function=NAME>`);
    seen.add(fn.name);
    if (spec.name !== undefined && fn.name !== spec.name) return;
    calls.push(callOf(b, text, fn.name, fn.parameters, `${where}[${i}].function.parameters`, typeof fn.strict === "boolean" ? fn.strict : true));
  });
  if (calls.length === 0) throw new QwenrtError("tool_choice.function.name", `no tool named ${JSON.stringify(spec.name)}`);
  const one = b.alt(calls);
  if (spec.name !== undefined || spec.parallel === false) return one;
  const many = b.ref(`${where} (repeated calls)`);
  many.target = b.seq([one, b.alt([b.seq([]), b.seq([b.lit("\n"), many])])]);
  return many;
}
