/** Summaries of a logits row: the top-k entries and the log-sum-exp (float64). */

/**
 * The `k` largest entries of `row`, highest first (equal values: lower id first).
 *
 * @example
 * topK(Float32Array.of(1, 5, 3), 2) // { ids: [1, 2], values: [5, 3] }
 */
export function topK(row: Float32Array, k: number): { ids: number[]; values: number[] } {
  const kk = Math.min(k, row.length);
  const ids: number[] = [];
  const values: number[] = [];
  for (let i = 0; i < row.length; i++) {
    const v = row[i]!;
    let pos: number;
    if (ids.length === kk) {
      if (!(v > values[kk - 1]!)) continue;
      pos = kk - 1; // evict the smallest
    } else {
      if (Number.isNaN(v)) continue;
      pos = ids.length;
      ids.push(0);
      values.push(0);
    }
    while (pos > 0 && values[pos - 1]! < v) {
      ids[pos] = ids[pos - 1]!;
      values[pos] = values[pos - 1]!;
      pos--;
    }
    ids[pos] = i;
    values[pos] = v;
  }
  return { ids, values };
}

/** `log(Σ exp(row))`, computed stably in float64. */
export function logSumExp(row: Float32Array): number {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i]! > max) max = row[i]!;
  if (max === -Infinity || !Number.isFinite(max)) return max;
  let s = 0;
  for (let i = 0; i < row.length; i++) s += Math.exp(row[i]! - max);
  return max + Math.log(s);
}
