// Run-time kernel features of one instance, set by the host right after instantiation
// (protocol.ts instantiateKernels) and the same on every thread of a backend.
//
// dotAdd: `i32x4.relaxed_dot_i8x16_i7x16_add_s` computes exact unsigned × signed byte dots with the
// addend (x86 VNNI `vpdpbusd`, the host checks it on this machine: module.ts dotAddAvailable). It
// then runs Q8_0's interleaved matmul (assembly/matmul_q8il_dot.ts), interleaved Q4_0's prefill
// (matmul_q4il.ts) and the sub-block-lane Q4_K / Q6_K (matmul_ksb.ts): 16 products per instruction
// instead of 8 and no widening. Only the relaxed build can turn it on.
export let dotAdd: bool = false;

/**
 * The kernels' vector constants, as globals written here at instantiation and read into locals
 * before the loops. V8 13 (Node 24) rebuilds a `v128.const` at each use inside a loop: the Q4_0
 * nibble loop ran at 12.1 GB/s with `i8x16.splat(15)` inline against 20.2 with the mask held in a
 * local read from a global (Node 20's V8 11.3: 19.2 and 19.9). A global the module never writes
 * would be folded back into constants by the optimizer, hence zero initial values and this write.
 */
export let cNib: v128 = v128.splat<i8>(0); // i8x16 15: a nibble
export let cHi2: v128 = v128.splat<i8>(0); // i8x16 0x30: Q6_K's two high bits in place
export let cQ6Lo: v128 = v128.splat<i8>(0); // i8x16 0x3f: a sub-block-lane Q6_K quant in its byte
export let cB3: v128 = v128.splat<i8>(0); // i8x16 3
export let cB12: v128 = v128.splat<i8>(0); // i8x16 12
export let cW15: v128 = v128.splat<i8>(0); // i16x8 15
export let cW3: v128 = v128.splat<i8>(0); // i16x8 3
export let cBf16Hi: v128 = v128.splat<i8>(0); // i32x4 0xffff0000: the odd bf16 of a pair
export let cB16: v128 = v128.splat<i8>(0); // i8x16 16
export let cW16: v128 = v128.splat<i8>(0); // i16x8 16
export let cQ5Bit: v128 = v128.splat<i8>(0); // Q5_0: bit l % 8 of a qh byte in lane l
export let cQ5Sel0: v128 = v128.splat<i8>(0); // Q5_0: qh bytes 0, 1 over 8 lanes each
export let cQ5Sel1: v128 = v128.splat<i8>(0); // Q5_0: qh bytes 2, 3
export let cHalfMask: v128 = v128.splat<i8>(0); // i32x4 0x8fffe000: half.ts halfBitsX4
export let cExpMin: v128 = v128.splat<i8>(0); // f32x4 -87: simd.ts expNeg
export let cLog2e: v128 = v128.splat<i8>(0); // f32x4 1.4426950408889634: simd.ts expNeg
export let cLn2Hi: v128 = v128.splat<i8>(0); // f32x4 0.693359375: simd.ts expNeg
export let cLn2Lo: v128 = v128.splat<i8>(0); // f32x4 -2.12194440e-4: simd.ts expNeg
export let cP6: v128 = v128.splat<i8>(0); // f32x4 1.3888889e-3: simd.ts expNeg
export let cP5: v128 = v128.splat<i8>(0); // f32x4 8.3333333e-3: simd.ts expNeg
export let cP4: v128 = v128.splat<i8>(0); // f32x4 4.1666667e-2: simd.ts expNeg
export let cP3: v128 = v128.splat<i8>(0); // f32x4 1.6666667e-1: simd.ts expNeg
export let cHalf: v128 = v128.splat<i8>(0); // f32x4 0.5: simd.ts expNeg
export let cOne: v128 = v128.splat<i8>(0); // f32x4 1: simd.ts expNeg

/** Switch the dot-add kernels on (on != 0) or off (a no-op in the plain build), and set the
 * constants above: the host calls this on every instance before any kernel runs. */
export function setDotAdd(on: i32): void {
  dotAdd = ASC_FEATURE_RELAXED_SIMD && on != 0;
  cNib = i8x16.splat(15);
  cHi2 = i8x16.splat(0x30);
  cQ6Lo = i8x16.splat(0x3f);
  cB3 = i8x16.splat(3);
  cB12 = i8x16.splat(12);
  cW15 = i16x8.splat(15);
  cW3 = i16x8.splat(3);
  cBf16Hi = i32x4.splat(0xffff0000);
  cB16 = i8x16.splat(16);
  cW16 = i16x8.splat(16);
  cQ5Bit = i8x16(1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128);
  cQ5Sel0 = i8x16(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
  cQ5Sel1 = i8x16(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
  cHalfMask = i32x4.splat(<i32>0x8fffe000);
  cExpMin = f32x4.splat(-87);
  cLog2e = f32x4.splat(1.4426950408889634);
  cLn2Hi = f32x4.splat(0.693359375);
  cLn2Lo = f32x4.splat(-2.12194440e-4);
  cP6 = f32x4.splat(1.3888889e-3);
  cP5 = f32x4.splat(8.3333333e-3);
  cP4 = f32x4.splat(4.1666667e-2);
  cP3 = f32x4.splat(1.6666667e-1);
  cHalf = f32x4.splat(0.5);
  cOne = f32x4.splat(1);
}
