/**
 * Text-level stop strings for streaming output. Text that might be the start of a stop string is
 * held back until it either completes one (generation stops; neither it nor anything after it is
 * emitted, as OpenAI does) or can no longer match (it is released).
 */
import { QwenrtError } from "../util/errors.js";

/** What one push released, and whether a stop string completed. */
export interface StopPush {
  /** Text safe to emit now. */
  readonly text: string;
  /** The stop string that matched, if any; generation must end. */
  readonly stop?: string;
}

/**
 * Incremental stop-string matcher.
 *
 * @example
 * const m = new StopStringMatcher(["\n\n"]);
 * m.push("Hi\n");   // { text: "Hi" }  — "\n" held back
 * m.push("\nmore"); // { text: "", stop: "\n\n" }
 */
export class StopStringMatcher {
  private readonly stops: readonly string[];
  private readonly maxLen: number;
  private pending = "";
  private done = false;

  constructor(stops: readonly string[], where = "stop") {
    for (const s of stops) {
      if (typeof s !== "string" || s.length === 0) throw new QwenrtError(where, "stop strings must be non-empty strings");
    }
    this.stops = [...stops];
    this.maxLen = stops.reduce((m, s) => Math.max(m, s.length), 0);
  }

  /** Add newly decoded text; returns what can be emitted. After a stop, further pushes emit nothing. */
  push(delta: string): StopPush {
    if (this.done) return { text: "" };
    if (this.stops.length === 0) return { text: delta };
    this.pending += delta;
    let at = -1;
    let which = "";
    for (const s of this.stops) {
      const i = this.pending.indexOf(s);
      if (i !== -1 && (at === -1 || i < at)) {
        at = i;
        which = s;
      }
    }
    if (at !== -1) {
      const text = this.pending.slice(0, at);
      this.pending = "";
      this.done = true;
      return { text, stop: which };
    }
    const hold = this.heldSuffix();
    const text = this.pending.slice(0, this.pending.length - hold);
    this.pending = this.pending.slice(this.pending.length - hold);
    return { text };
  }

  /** End of generation without a stop: release everything held back. */
  flush(): string {
    const text = this.done ? "" : this.pending;
    this.pending = "";
    return text;
  }

  /** Length of the longest suffix of `pending` that is a proper prefix of some stop string. */
  private heldSuffix(): number {
    const p = this.pending;
    for (let len = Math.min(p.length, this.maxLen - 1); len > 0; len--) {
      const tail = p.slice(p.length - len);
      if (this.stops.some((s) => s.length > len && s.startsWith(tail))) return len;
    }
    return 0;
  }
}
