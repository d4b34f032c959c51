// Run-time kernel features of one instance, set by the host right after instantiation
// (protocol.ts instantiateKernels) and the same on every thread of a backend.
//
// dotAdd: `i32x4.relaxed_dot_i8x16_i7x16_add_s` computes exact unsigned × signed byte dots with the
// addend (x86 VNNI `vpdpbusd`, the host checks it on this machine: module.ts dotAddAvailable). It
// then runs Q8_0's interleaved matmul (assembly/matmul_q8il_dot.ts): 16 products per instruction
// instead of 8 and no widening. Only the relaxed build can turn it on.
export let dotAdd: bool = false;

/** The dot-add Q8_0 kernel's byte gather and sign flip (assembly/matmul_q8il_dot.ts). Globals set at
 * run time, read into locals before the loops: V8 rebuilds a constant shuffle's mask at every use
 * (measured: 54 vs 86 GOP/s for a swizzle by a mask held in a register). */
export let q8Gather: v128 = v128.splat<i8>(0);
export let q8Flip: v128 = v128.splat<i8>(0);

/** Switch the dot-add kernels on (on != 0) or off; a no-op in the plain build. */
export function setDotAdd(on: i32): void {
  dotAdd = ASC_FEATURE_RELAXED_SIMD && on != 0;
  q8Gather = i8x16(0, 1, 8, 9, 2, 3, 10, 11, 4, 5, 12, 13, 6, 7, 14, 15);
  q8Flip = i8x16.splat(-128);
}
