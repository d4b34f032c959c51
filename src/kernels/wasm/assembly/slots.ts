// Per-thread slots: a few vectors of memory per pool thread for the prefill tiles' f32 sums. V8 keeps
// a tile's f32 sums in xmm registers across its inner loop and spills the tile's i32 dot-add
// accumulators instead, every step, whose chains then run through store forwarding
// (--print-wasm-code); in memory, a sum is read and written once per block group instead. The pool's
// threads share a bank's memory, each with its own instance of this module: thread tid's slot is
// SLOT_BYTES · tid into the area after the module's static data, which the host heap leaves alone
// (index.ts heapBase). A KiB apart: 128 bytes apart, the 2-thread Q4_K GEMM ran at half speed (the
// cores' caches passing lines back and forth).

/** Bytes between two threads' slots (a tile uses at most the first 256: sixteen f32x4 sums). */
export const SLOT_BYTES: usize = 1024;
/** Slots of the 256 threads a pool may have (1..256, see kernels/wasm/index.ts). */
export const SLOT_COUNT: usize = 256;

/** The first thread's slot: the first KiB boundary after the module's static data. */
@inline export function slotArea(): usize {
  return (__heap_base + SLOT_BYTES - 1) & ~(SLOT_BYTES - 1);
}

let slot: usize = 0;

/** Select thread `tid`'s (0..255) slot; `run` (index.ts) calls this before a job's first chunk. */
export function useThread(tid: i32): void {
  slot = slotArea() + <usize>tid * SLOT_BYTES;
}

/** This thread's slot. */
@inline export function threadSlot(): usize {
  return slot;
}
