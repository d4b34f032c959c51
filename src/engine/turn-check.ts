/**
 * The check after generation that a structured answer gets when its grammar could not enforce every
 * keyword of its schema (uniqueItems over objects, an overlapping oneOf, a pattern with a
 * backreference, …): which keywords were left to the check and which of them the answer fails.
 */
import type { Unenforced, Violation } from "./constrain/index.js";
import type { PreparedTurn } from "./turn.js";
import type { TurnMessage } from "./turn-output.js";

/** What was checked after generation and what failed (instance paths; tool calls prefixed by index). */
export interface AnswerCheck {
  readonly unenforced: readonly Unenforced[];
  /** Undefined when the answer was cut off before it was complete (nothing to check). */
  readonly violations: readonly Violation[] | undefined;
}

/**
 * Check a finished turn's answer against what its grammar left unenforced; undefined when its grammar
 * enforced everything (or there was none).
 *
 * @example
 * const check = checkAnswer(turn, outcome.message, outcome.finishReason !== "length");
 * if (check?.violations?.length) console.warn(check.violations);
 */
export function checkAnswer(turn: PreparedTurn, message: TurnMessage, complete: boolean): AnswerCheck | undefined {
  const g = turn.grammar?.compiled;
  if (g === undefined || g.unenforced.length === 0) return undefined;
  if (!complete) return { unenforced: g.unenforced, violations: undefined };
  if (!turn.forcedToolCall) return { unenforced: g.unenforced, violations: g.check(message.content) };
  const violations = message.toolCalls.flatMap((c, i) => g.check(c.arguments, c.name).map((v) => ({ ...v, path: `/tool_calls/${i}/arguments${v.path}` })));
  return { unenforced: g.unenforced, violations };
}
