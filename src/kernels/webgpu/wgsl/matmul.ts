/**
 * `y[i, rowBase + r] = Σ_k x[i, k] · W[r, k] (+ bias)` over one part of a weight matrix (a range of
 * whole rows in one buffer), weights decoded in registers by `loadW4`:
 * - matvec (n ≤ 4, decode): one workgroup per weight row, each invocation a strided share of the
 *   row's columns for all n rows of x, then a workgroup sum (subgroups when present);
 * - tiled (prefill): a 64-row × 32-token output tile per workgroup, weights and activations staged
 *   through workgroup memory 32 columns at a time, 4 × 2 outputs per invocation.
 * The `seg` variants serve the MoE experts: the rows of x and y are one expert's segment
 * `[seg[2e], seg[2e] + seg[2e + 1])` of the tokens grouped by expert, dispatched indirectly.
 */
import type { WeightType } from "../../types.js";
import { enables, subgroupArgs, sumVec4, tensorArrays } from "./common.js";
import { weightLoader } from "./weights.js";

/** Rows of x one matvec dispatch handles at most. */
export const MATVEC_MAX_N = 4;
/** Tiled kernel: weight rows and x rows of one workgroup's output tile. */
export const TILE_ROWS = 64;
export const TILE_N = 32;

/** Bindings: 1 weights, 2 segments (seg variants), then the tensors [x, y, bias?] from a plan's slots. */
function header(seg: boolean, slots: readonly number[]): { text: string; x: string; y: string; bias: string | undefined } {
  const { decl, names } = tensorArrays(slots, seg ? 3 : 2);
  const text = /* wgsl */ `
struct P {
  rows: u32, cols: u32, n: u32, xOff: u32,
  yOff: u32, yStride: u32, rowBase: u32, bOff: u32,
  segAt: u32, // seg variants: word index of this expert's (first row, count)
}
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> w: array<u32>;
${seg ? "@group(0) @binding(2) var<storage, read_write> seg: array<u32>;\n" : ""}${decl}`;
  return { text, x: names[0]!, y: names[1]!, bias: names[2] };
}

function biasTerm(bias: string | undefined): string {
  return bias === undefined ? "" : ` + ${bias}[p.bOff + row]`;
}

/** The rows of this dispatch: `base` (first row of x and y) and `n`. */
function rowRange(seg: boolean): string {
  return seg ? "let base = seg[p.segAt]; let n = seg[p.segAt + 1u];" : "let base = 0u; let n = p.n;";
}

/** Matvec: `slots` from the plan of [x, y] or [x, y, bias]. */
export function matvecShader(type: WeightType, subgroups: boolean, seg: boolean, slots: readonly number[]): string {
  const sg = subgroupArgs(subgroups);
  const h = header(seg, slots);
  const x = h.x;
  return `${enables(subgroups)}${h.text}${weightLoader(type)}${sumVec4(64, subgroups)}
fn loadX4(o: u32, k: u32, cols: u32) -> vec4<f32> {
  if (k + 3u < cols) { return vec4<f32>(${x}[o + k], ${x}[o + k + 1u], ${x}[o + k + 2u], ${x}[o + k + 3u]); }
  var v = vec4<f32>(0.0);
  for (var j = 0u; j < 4u; j++) { if (k + j < cols) { v[j] = ${x}[o + k + j]; } }
  return v;
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32${sg.decl}) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; }
  ${rowRange(seg)}
  var acc = vec4<f32>(0.0); // [x row i]
  let groups = (p.cols + 3u) / 4u;
  for (var g = lid; g < groups; g += 64u) {
    let k = g * 4u;
    let wv = loadW4(row, k, p.cols);
    for (var i = 0u; i < n; i++) { acc[i] += dot(wv, loadX4(p.xOff + (base + i) * p.cols, k, p.cols)); }
  }
  let s = sumVec4(acc, lid${sg.arg});
  if (lid == 0u) {
    for (var i = 0u; i < n; i++) { ${h.y}[p.yOff + (base + i) * p.yStride + p.rowBase + row] = s[i]${biasTerm(h.bias)}; }
  }
}
`;
}

/** Tiled: `slots` from the plan of [x, y] or [x, y, bias]. */
export function tiledShader(type: WeightType, seg: boolean, slots: readonly number[]): string {
  const h = header(seg, slots);
  return `${h.text}${weightLoader(type)}
const TR = ${TILE_ROWS}u;
const TN = ${TILE_N}u;
const TK = 32u;
var<workgroup> ws: array<f32, 2048>; // [TK][TR] weights, column-major in the tile
var<workgroup> xs: array<f32, 1024>; // [TK][TN] activations

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  ${rowRange(seg)}
  let r0 = wid.x * TR;
  let n0 = wid.y * TN; // the grid covers n exactly: no tile starts past it
  let tr = lid % 16u; // this invocation's weight rows: r0 + 4·tr .. + 3
  let tn = lid / 16u; // its x rows: n0 + 2·tn, + 1
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  for (var k0 = 0u; k0 < p.cols; k0 += TK) {
    for (var t = 0u; t < 2u; t++) {
      let idx = lid + t * 256u;
      let rr = idx / 8u;
      let g = idx % 8u;
      let k = k0 + g * 4u;
      var wv = vec4<f32>(0.0);
      if (r0 + rr < p.rows && k < p.cols) { wv = loadW4(r0 + rr, k, p.cols); }
      ws[(g * 4u) * TR + rr] = wv.x;
      ws[(g * 4u + 1u) * TR + rr] = wv.y;
      ws[(g * 4u + 2u) * TR + rr] = wv.z;
      ws[(g * 4u + 3u) * TR + rr] = wv.w;
    }
    for (var t = 0u; t < 4u; t++) {
      let idx = lid + t * 256u;
      let nn = idx / TK;
      let kk = idx % TK;
      var xv = 0.0;
      if (n0 + nn < n && k0 + kk < p.cols) { xv = ${h.x}[p.xOff + (base + n0 + nn) * p.cols + k0 + kk]; }
      xs[kk * TN + nn] = xv;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TK; kk++) {
      let wb = kk * TR + tr * 4u;
      let wv = vec4<f32>(ws[wb], ws[wb + 1u], ws[wb + 2u], ws[wb + 3u]);
      acc0 += wv * xs[kk * TN + tn * 2u];
      acc1 += wv * xs[kk * TN + tn * 2u + 1u];
    }
    workgroupBarrier();
  }
  for (var a = 0u; a < 2u; a++) {
    let i = n0 + tn * 2u + a;
    if (i >= n) { continue; }
    let acc = select(acc0, acc1, a == 1u);
    for (var j = 0u; j < 4u; j++) {
      let row = r0 + tr * 4u + j;
      if (row >= p.rows) { continue; }
      ${h.y}[p.yOff + (base + i) * p.yStride + p.rowBase + row] = acc[j]${biasTerm(h.bias)};
    }
  }
}
`;
}
