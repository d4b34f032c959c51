/**
 * Row and elementwise kernels: add, siluMul, word copy, RMSNorm, RoPE and the embedding gather.
 * Elementwise kernels run 256 invocations per workgroup over a `grid1` grid. Tensor arguments are
 * declared from a binding plan's `slots` (arguments in one allocation share a binding).
 */
import type { WeightType } from "../../types.js";
import { FLAT, tensorArrays, treeReduce } from "./common.js";
import { weightLoader } from "./weights.js";

const ELEMENT_INDEX = "let i = flatGroup(wid, nwg) * 256u + lid;\n  if (i >= p.len) { return; }";
const ENTRY = "@compute @workgroup_size(256)\nfn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32)";

/** `o = a + b` (op "add") or `o = silu(a) · b` (op "siluMul"); tensors [a, b, o]. Params: len, aOff, bOff, oOff. */
export function binaryShader(op: "add" | "siluMul", slots: readonly number[]): string {
  const { decl, names: [a, b, o] } = tensorArrays(slots, 1);
  const expr = op === "add" ? `g + ${b}[p.bOff + i]` : `(g / (1.0 + exp(-g))) * ${b}[p.bOff + i]`;
  return /* wgsl */ `
struct P { len: u32, aOff: u32, bOff: u32, oOff: u32 }
@group(0) @binding(0) var<uniform> p: P;
${decl}${FLAT}
${ENTRY} {
  ${ELEMENT_INDEX}
  let g = ${a}[p.aOff + i];
  ${o}[p.oOff + i] = ${expr};
}
`;
}

/** `dst[dOff + i] = src[sOff + i]` over 32-bit words; tensors [src, dst]. Params: len, sOff, dOff. */
export function copyShader(slots: readonly number[]): string {
  const { decl, names: [src, dst] } = tensorArrays(slots, 1, "u32");
  return /* wgsl */ `
struct P { len: u32, sOff: u32, dOff: u32 }
@group(0) @binding(0) var<uniform> p: P;
${decl}${FLAT}
${ENTRY} {
  ${ELEMENT_INDEX}
  ${dst}[p.dOff + i] = ${src}[p.sOff + i];
}
`;
}

/** RMSNorm of `rows` rows of `dim`, one 64-invocation workgroup per row; tensors [x, weight, o].
 * Params: rows, dim, xOff, wOff, oOff, eps. */
export function rmsNormShader(slots: readonly number[]): string {
  const { decl, names: [x, wt, o] } = tensorArrays(slots, 1);
  return /* wgsl */ `
struct P { rows: u32, dim: u32, xOff: u32, wOff: u32, oOff: u32, eps: f32 }
@group(0) @binding(0) var<uniform> p: P;
${decl}${FLAT}
${treeReduce(64)}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = flatGroup(wid, nwg);
  if (row >= p.rows) { return; }
  let xo = p.xOff + row * p.dim;
  let oo = p.oOff + row * p.dim;
  var ss = 0.0;
  for (var d = lid; d < p.dim; d += 64u) { let v = ${x}[xo + d]; ss += v * v; }
  let inv = 1.0 / sqrt(wgSum(ss, lid) / f32(p.dim) + p.eps);
  for (var d = lid; d < p.dim; d += 64u) { ${o}[oo + d] = ${wt}[p.wOff + d] * (${x}[xo + d] * inv); }
}
`;
}

/** Rotate pairs (j, j + half) of each head in place; tensors [x, cos, sin].
 * Params: len (= n·heads·half), heads, half, xOff, cOff, sOff. */
export function ropeShader(slots: readonly number[]): string {
  const { decl, names: [x, cosv, sinv] } = tensorArrays(slots, 1);
  return /* wgsl */ `
struct P { len: u32, heads: u32, half: u32, xOff: u32, cOff: u32, sOff: u32 }
@group(0) @binding(0) var<uniform> p: P;
${decl}${FLAT}
${ENTRY} {
  ${ELEMENT_INDEX}
  let j = i % p.half;
  let th = i / p.half; // t · heads + h
  let t = th / p.heads;
  let o = p.xOff + th * 2u * p.half + j;
  let a = ${x}[o];
  let b = ${x}[o + p.half];
  let c = ${cosv}[p.cOff + t * p.half + j];
  let s = ${sinv}[p.sOff + t * p.half + j];
  ${x}[o] = a * c - b * s;
  ${x}[o + p.half] = b * c + a * s;
}
`;
}

/**
 * `out[i, :]` = row `ids[i]` of a weight part holding rows `rowStart .. rowStart + partRows - 1`
 * (ids outside the part are left to the other parts' dispatches). Grid: (⌈cols/256⌉, nIds).
 * Params: cols, rowStart, partRows, idsOff, oOff.
 */
export function embedShader(type: WeightType): string {
  return /* wgsl */ `
struct P { cols: u32, rowStart: u32, partRows: u32, idsOff: u32, oOff: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> w: array<u32>;
@group(0) @binding(2) var<storage, read_write> ids: array<u32>;
@group(0) @binding(3) var<storage, read_write> o: array<f32>;
${weightLoader(type)}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let k = (wid.x * 64u + lid) * 4u;
  if (k >= p.cols) { return; }
  let id = ids[p.idsOff + wid.y];
  if (id < p.rowStart || id - p.rowStart >= p.partRows) { return; }
  let v = loadW4(id - p.rowStart, k, p.cols);
  let oo = p.oOff + wid.y * p.cols + k;
  for (var j = 0u; j < 4u; j++) { if (k + j < p.cols) { o[oo + j] = v[j]; } }
}
`;
}
