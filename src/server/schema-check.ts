/**
 * The `schema_check` extension field: when a structured answer's schema had keywords no grammar
 * enforces (uniqueItems over objects, multipleOf on fractions, an overlapping oneOf, …), they are
 * named (`unenforced`) and the finished answer is checked against them (`valid`, `violations`), so
 * nothing is silently dropped. Chat choices and Response objects carry it.
 */
import { checkAnswer } from "../engine/turn-check.js";
import type { PreparedTurn } from "../engine/turn.js";
import type { FinishedTurn } from "./runtime.js";

/**
 * `{ schema_check: … }` for a finished turn, or `{}` when its grammar enforced everything.
 *
 * @example
 * const choice = { index: 0, message, finish_reason, ...schemaCheckField(plan.turn, finished) };
 */
export function schemaCheckField(prepared: PreparedTurn, turn: FinishedTurn): Record<string, unknown> {
  const check = checkAnswer(prepared, turn.message, turn.finishReason !== "length");
  if (check === undefined) return {};
  const unenforced = check.unenforced.map((u) => ({ where: u.where, keyword: u.keyword, reason: u.reason }));
  if (check.violations === undefined) return { schema_check: { unenforced } };
  return { schema_check: { unenforced, valid: check.violations.length === 0, violations: check.violations } };
}
