/**
 * A Qwen3Guard-Gen model screening what the server takes in and gives out (`serve --guard`):
 * prompts before generation, answers as they stream. Counts its verdicts for `/metrics`.
 */
import type { GuardMessage, GuardTarget } from "../chat/guard.js";
import { moderate, type GuardVerdict } from "../engine/guard.js";
import type { Model } from "../models/model.js";
import type { Tokenizer } from "../tokenizer/index.js";
import { ApiError } from "./errors.js";

/** `block`: refuse unsafe prompts (400) and cut unsafe answers (`content_filter`); `flag`: only count them. */
export type GuardPolicy = "block" | "flag";

/** A guard model and what the server does with its verdicts. */
export class Guardrail {
  /** "target safety" → verdicts given (e.g. "prompt Unsafe"). */
  readonly verdicts = new Map<string, number>();
  /** target → prompts refused or answers cut. */
  readonly blocked = new Map<GuardTarget, number>();

  constructor(
    readonly model: Model,
    readonly tokenizer: Tokenizer,
    readonly policy: GuardPolicy = "block",
  ) {}

  /** Judge the last message of `messages`, counting the verdict. */
  async check(messages: readonly GuardMessage[], signal?: AbortSignal): Promise<GuardVerdict> {
    const v = await moderate(this.model, this.tokenizer, messages, signal === undefined ? {} : { signal });
    const key = `${v.target} ${v.safety}`;
    this.verdicts.set(key, (this.verdicts.get(key) ?? 0) + 1);
    return v;
  }

  /** Whether the policy stops on `v` (Unsafe under `block`), counting it when it does. */
  stops(v: GuardVerdict): boolean {
    if (this.policy !== "block" || v.safety !== "Unsafe") return false;
    this.blocked.set(v.target, (this.blocked.get(v.target) ?? 0) + 1);
    return true;
  }

  /** Screen a prompt: an OpenAI-style 400 naming the categories when the policy blocks it. */
  async screenPrompt(messages: readonly GuardMessage[], param: string, signal?: AbortSignal): Promise<void> {
    const v = await this.check(messages, signal);
    if (!this.stops(v)) return;
    const cats = v.categories.length > 0 ? v.categories.join(", ") : "unspecified";
    throw new ApiError(400, `${param}: the guard flagged this prompt as unsafe (categories: ${cats}); it was not processed`, "invalid_request_error", param, "content_policy_violation");
  }
}

/** `/metrics` lines of a guard. */
export function guardMetrics(g: Guardrail): string {
  const verdicts = [...g.verdicts].map(([key, n]) => {
    const [target, safety] = key.split(" ");
    return `qwenrt_guard_verdicts_total{target="${target}",safety="${safety}"} ${n}`;
  });
  const blocked = [...g.blocked].map(([target, n]) => `qwenrt_guard_blocked_total{target="${target}"} ${n}`);
  return (
    "# HELP qwenrt_guard_verdicts_total Guard verdicts by what was judged (prompt or response) and the verdict.\n# TYPE qwenrt_guard_verdicts_total counter\n" +
    (verdicts.length > 0 ? verdicts.join("\n") : "qwenrt_guard_verdicts_total 0") +
    "\n# HELP qwenrt_guard_blocked_total Prompts refused and answers cut by the guard.\n# TYPE qwenrt_guard_blocked_total counter\n" +
    (blocked.length > 0 ? blocked.join("\n") : "qwenrt_guard_blocked_total 0") +
    "\n"
  );
}
