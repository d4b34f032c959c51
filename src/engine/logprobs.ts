/**
 * Log-probabilities for the server's `logprobs` / `top_logprobs`: the log-softmax of the chosen token
 * and of the N most likely alternatives, computed from one row of logits in float64.
 */

/** One token and its log-probability. */
export interface TokenLogprob {
  readonly token: number;
  readonly logprob: number;
}

/** The chosen token's log-probability and the `topN` most likely tokens (most likely first). */
export interface StepLogprobs extends TokenLogprob {
  readonly top: readonly TokenLogprob[];
}

/** `log Σ exp(logits)` in float64, stable for any range. */
export function logSumExp(logits: Float32Array): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i]! > max) max = logits[i]!;
  if (max === -Infinity) return -Infinity;
  let s = 0;
  for (let i = 0; i < logits.length; i++) s += Math.exp(logits[i]! - max);
  return max + Math.log(s);
}

/**
 * The `n` largest entries' indices, largest first (ties: lower index first), by partial selection
 * (a size-n heap; no full sort).
 *
 * @example
 * topIndices(new Float32Array([1, 5, 3]), 2); // [1, 2]
 */
export function topIndices(values: Float32Array, n: number): number[] {
  const k = Math.min(n, values.length);
  if (k <= 0) return [];
  // Min-heap of indices by (value asc, index desc): the root is the worst of the current best k.
  const heap: number[] = [];
  const worse = (a: number, b: number): boolean => values[a]! < values[b]! || (values[a] === values[b] && a > b);
  const siftDown = (j: number): void => {
    for (;;) {
      const l = 2 * j + 1;
      const r = l + 1;
      let m = j;
      if (l < heap.length && worse(heap[l]!, heap[m]!)) m = l;
      if (r < heap.length && worse(heap[r]!, heap[m]!)) m = r;
      if (m === j) return;
      [heap[m], heap[j]] = [heap[j]!, heap[m]!];
      j = m;
    }
  };
  for (let i = 0; i < values.length; i++) {
    if (heap.length < k) {
      heap.push(i);
      let j = heap.length - 1;
      while (j > 0) {
        const p = (j - 1) >> 1;
        if (!worse(heap[j]!, heap[p]!)) break;
        [heap[p], heap[j]] = [heap[j]!, heap[p]!];
        j = p;
      }
    } else if (worse(heap[0]!, i)) {
      heap[0] = i;
      siftDown(0);
    }
  }
  return heap.sort((a, b) => values[b]! - values[a]! || a - b);
}

/**
 * Log-softmax of `token` and of the `topN` most likely tokens.
 *
 * @example
 * const lp = stepLogprobs(logits, chosen, 5); // { token, logprob, top: [{ token, logprob }, …] }
 */
export function stepLogprobs(logits: Float32Array, token: number, topN: number): StepLogprobs {
  const lse = logSumExp(logits);
  const top = topIndices(logits, topN).map((id) => ({ token: id, logprob: logits[id]! - lse }));
  return { token, logprob: logits[token]! - lse, top };
}
