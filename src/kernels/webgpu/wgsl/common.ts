/**
 * WGSL helpers shared by the kernels: exact half-float conversions in integer arithmetic (so f16
 * weights and KV caches need no `shader-f16`, and results match ggml bit for bit), the flattened
 * workgroup index of a 2-D grid, and workgroup sums with or without `subgroups`.
 */

/** `halfToF32(bits)` (exact) and `f32ToHalf(x)` (round to nearest even, as `GGML_FP32_TO_FP16`). */
export const HALF = /* wgsl */ `
fn halfToF32(h: u32) -> f32 {
  let sign = (h & 0x8000u) << 16u;
  let e = (h >> 10u) & 0x1fu;
  let m = h & 0x3ffu;
  if (e == 0u) {
    let v = f32(m) * 5.9604644775390625e-8; // m · 2^-24, exact
    return select(v, -v, sign != 0u);
  }
  if (e == 31u) { return bitcast<f32>(sign | 0x7f800000u | (m << 13u)); }
  return bitcast<f32>(sign | ((e + 112u) << 23u) | (m << 13u));
}

fn f32ToHalf(v: f32) -> u32 {
  let x = bitcast<u32>(v);
  let sign = (x >> 16u) & 0x8000u;
  let ax = x & 0x7fffffffu;
  if (ax > 0x7f800000u) { return sign | 0x7e00u | ((ax >> 13u) & 0x3ffu); } // NaN stays NaN
  if (ax >= 0x477ff000u) { return sign | 0x7c00u; } // rounds past 65504: infinity
  if (ax >= 0x38800000u) { return sign | ((ax + 0x0fffu + ((ax >> 13u) & 1u) - 0x38000000u) >> 13u); }
  let e = ax >> 23u;
  if (e < 102u) { return sign; } // below 2^-25: zero
  let m = (ax & 0x7fffffu) | 0x800000u;
  let s = 126u - e; // 14 .. 24: the value in units of 2^-24 is m >> s
  var q = m >> s;
  let rem = m & ((1u << s) - 1u);
  let halfway = 1u << (s - 1u);
  if (rem > halfway || (rem == halfway && (q & 1u) == 1u)) { q += 1u; }
  return sign | q;
}
`;

/** The `enable` directives a shader needs. */
export function enables(subgroups: boolean): string {
  return subgroups ? "enable subgroups;\n" : "";
}

/** Extra entry-point arguments for the subgroup path (pass into `sumVec4`). */
export function subgroupArgs(subgroups: boolean): { decl: string; arg: string } {
  return subgroups ? { decl: ", @builtin(subgroup_invocation_id) sgid: u32", arg: ", sgid" } : { decl: "", arg: "" };
}

/**
 * `sumVec4(v, lid[, sgid])`: the sum of `v` over a workgroup of `wg` invocations, valid in
 * invocation 0. Deterministic: the partial sums are added in one fixed order.
 */
export function sumVec4(wg: number, subgroups: boolean): string {
  if (subgroups) {
    return /* wgsl */ `
var<workgroup> red4: array<vec4<f32>, ${wg}>;
fn sumVec4(v: vec4<f32>, lid: u32, sgid: u32) -> vec4<f32> {
  let s = subgroupAdd(v);
  red4[lid] = select(vec4<f32>(0.0), s, sgid == 0u);
  workgroupBarrier();
  var t = vec4<f32>(0.0);
  if (lid == 0u) { for (var i = 0u; i < ${wg}u; i++) { t += red4[i]; } }
  return t;
}
`;
  }
  return /* wgsl */ `
var<workgroup> red4: array<vec4<f32>, ${wg}>;
fn sumVec4(v: vec4<f32>, lid: u32) -> vec4<f32> {
  red4[lid] = v;
  workgroupBarrier();
  for (var s = ${wg / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { red4[lid] += red4[lid + s]; }
    workgroupBarrier();
  }
  return red4[0];
}
`;
}

/** `flatGroup(wid, nwg)`: the workgroup's index in a grid from `grid1`. */
export const FLAT = /* wgsl */ `
fn flatGroup(wid: vec3<u32>, nwg: vec3<u32>) -> u32 { return wid.x + wid.y * nwg.x; }
`;

/** Workgroup-wide sum and max over `wg` invocations (tree in workgroup memory; all invocations get the result). */
export function treeReduce(wg: number): string {
  return /* wgsl */ `
var<workgroup> red1: array<f32, ${wg}>;
fn wgSum(v: f32, lid: u32) -> f32 {
  red1[lid] = v;
  workgroupBarrier();
  for (var s = ${wg / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { red1[lid] += red1[lid + s]; }
    workgroupBarrier();
  }
  let r = red1[0];
  workgroupBarrier();
  return r;
}
fn wgMax(v: f32, lid: u32) -> f32 {
  red1[lid] = v;
  workgroupBarrier();
  for (var s = ${wg / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { red1[lid] = max(red1[lid], red1[lid + s]); }
    workgroupBarrier();
  }
  let r = red1[0];
  workgroupBarrier();
  return r;
}
`;
}

/**
 * Storage declarations for a kernel's tensor arguments under a binding plan (`planBindings`):
 * one `array<elem>` per distinct slot, at bindings `firstBinding + slot`; argument i is `names[i]`.
 */
export function tensorArrays(slots: readonly number[], firstBinding: number, elem: "f32" | "u32" = "f32"): { decl: string; names: string[] } {
  const distinct = [...new Set(slots)].sort((a, b) => a - b);
  const decl = distinct.map((s) => `@group(0) @binding(${firstBinding + s}) var<storage, read_write> t${s}: array<${elem}>;`).join("\n");
  return { decl: `${decl}\n`, names: slots.map((s) => `t${s}`) };
}
