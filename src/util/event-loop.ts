/**
 * Cooperative yielding for long synchronous work on the main thread (tokenizing a large prompt,
 * a generation's model steps): a macrotask boundary, so that timers, I/O callbacks, signal handlers
 * and abort listeners run in between. A resolved promise is not enough: microtasks run before any of
 * those.
 */

/**
 * Resolve on the next turn of the event loop (`setImmediate` where the runtime has it).
 *
 * @example
 * for (const chunk of chunks) { work(chunk); await yieldToEventLoop(); }
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise<void>((resolve) => (typeof setImmediate === "function" ? setImmediate(resolve) : setTimeout(resolve, 0)));
}

/**
 * A time slicer: `due()` is true once `sliceMs` of work has passed since the last yield; `yield()`
 * yields and restarts the clock. Checking the clock costs a `performance.now()` call; callers check
 * every few hundred items.
 *
 * @example
 * const slicer = new TimeSlicer(8);
 * for (const x of items) { work(x); if (slicer.due()) await slicer.yield(); }
 */
export class TimeSlicer {
  private start = performance.now();

  constructor(private readonly sliceMs: number) {}

  due(): boolean {
    return performance.now() - this.start >= this.sliceMs;
  }

  async yield(): Promise<void> {
    await yieldToEventLoop();
    this.start = performance.now();
  }
}
