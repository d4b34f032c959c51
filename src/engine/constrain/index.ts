// Grammar-constrained decoding: JSON / JSON Schema output and forced Hermes tool calls.
export { type CompiledConstraint, type Constraint, type ConstraintSpec, type ToolSpec, compileConstraint, createConstraint } from "./constraint.js";
export { MaskComputer, applyMask, hasBit } from "./mask.js";
export { type PreparedVocab, type VocabInput, byteLevelDecoder, prepareVocab, vocabFromTokenizerJson } from "./vocab.js";
export { type SchemaOptions, MAX_SCHEMA_DEPTH, MAX_SCHEMA_NODES, checkSchemaSize, compileSchema } from "./schema.js";
export { GrammarBuilder } from "./grammar.js";
export { matchBytes } from "./matcher.js";
