/**
 * A sequence's caches as bytes and back, layer by layer, through each cache slot's `save` / `load`
 * (KV snapshots on disk; engine/kv-snapshot.ts owns the file format).
 */
import { QwenrtError } from "../util/errors.js";
import type { Model, Sequence } from "./model.js";

/**
 * Per layer, the bytes of `seq`'s first `length` positions (empty for a layer without a cache), or
 * undefined when some slot cannot be saved (a state without `save`).
 *
 * @example
 * const layers = saveSequence(seq, seq.length); // [Uint8Array(…), …] one per layer
 */
export function saveSequence(seq: Sequence, length: number): Uint8Array[] | undefined {
  if (length > seq.length) throw new QwenrtError("KV snapshot", `asked for ${length} positions; the sequence holds ${seq.length}`);
  const out: Uint8Array[] = [];
  for (const slot of seq.slots) {
    if (slot === undefined) out.push(new Uint8Array(0));
    else if (slot.save === undefined) return undefined;
    else out.push(slot.save(length));
  }
  return out;
}

/** A new sequence of `model` holding `length` positions restored from `saveSequence`'s bytes. */
export function restoreSequence(model: Model, layers: readonly Uint8Array[], length: number): Sequence {
  const seq = model.newSequence(Math.max(1, length));
  try {
    if (layers.length !== seq.slots.length) throw new QwenrtError("KV snapshot", `holds ${layers.length} layers; the model has ${seq.slots.length}`);
    seq.slots.forEach((slot, i) => {
      if (slot === undefined) return;
      if (slot.load === undefined) throw new QwenrtError("KV snapshot", `layer ${i}'s cache cannot be restored`);
      slot.load(layers[i]!, length);
    });
  } catch (e) {
    model.release(seq);
    throw e;
  }
  seq.length = length;
  return seq;
}
