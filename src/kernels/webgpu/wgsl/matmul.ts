/**
 * `y[i, rowBase + r] = Σ_k x[i, k] · W[r, k] (+ bias)` over one part of a weight matrix (a range of
 * whole rows in one buffer), weights decoded in registers by `loadW4`:
 * - matvec (n ≤ 4, decode): one workgroup per weight row, each invocation a strided share of the
 *   row's columns for all n rows of x, then a workgroup sum (subgroups when present);
 * - tiled (prefill, rows of 256 columns and more): a 64-row × 32-token output tile per workgroup,
 *   weights and activations staged through workgroup memory 32 columns at a time, 4 × 2 outputs per
 *   invocation;
 * - blocked (prefill, narrower rows): 4 × 4 outputs per invocation straight from memory, no
 *   workgroup memory or barriers (which staging would not repay on short rows).
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
/** Blocked kernel: weight rows and x rows of one workgroup (16 × 4 invocations of 4 × 4 outputs). */
export const BLOCK_ROWS = 64;
export const BLOCK_N = 16;
/** Columns from which prefill stages tiles through workgroup memory. */
export const TILED_MIN_COLS = 256;

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

/** Invocations per weight row in the matvec kernel (of 64 per workgroup): narrow rows share a
 * workgroup, so a 16-column LM head does not start one workgroup per row. */
export function matvecThreadsPerRow(cols: number): 1 | 4 | 16 | 64 {
  const groups = Math.ceil(cols / 4);
  return groups >= 128 ? 64 : groups >= 32 ? 16 : groups >= 16 ? 4 : 1;
}

/** Matvec with `tpr` invocations per row: `slots` from the plan of [x, y] or [x, y, bias]. */
export function matvecShader(type: WeightType, subgroups: boolean, seg: boolean, slots: readonly number[], tpr: number): string {
  const useSubgroups = subgroups && tpr === 64; // a whole-workgroup sum; narrower rows use the tree below
  const sg = subgroupArgs(useSubgroups);
  const h = header(seg, slots);
  const x = h.x;
  const reduce = useSubgroups
    ? `let s = sumVec4(acc, lid${sg.arg});`
    : tpr === 1
      ? "let s = acc;"
      : `red4[lid] = acc;
  workgroupBarrier();
  for (var step = ${tpr / 2}u; step > 0u; step >>= 1u) {
    if (t < step) { red4[lid] += red4[lid + step]; }
    workgroupBarrier();
  }
  let s = red4[lid];`;
  return `${enables(useSubgroups)}${h.text}${weightLoader(type)}${useSubgroups ? sumVec4(64, true) : tpr > 1 ? "var<workgroup> red4: array<vec4<f32>, 64>;" : ""}
fn loadX4(o: u32, k: u32, cols: u32) -> vec4<f32> {
  if (k + 3u < cols) { return vec4<f32>(${x}[o + k], ${x}[o + k + 1u], ${x}[o + k + 2u], ${x}[o + k + 3u]); }
  var v = vec4<f32>(0.0);
  for (var j = 0u; j < 4u; j++) { if (k + j < cols) { v[j] = ${x}[o + k + j]; } }
  return v;
}

const TPR = ${tpr}u; // invocations per weight row
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32${sg.decl}) {
  let t = lid % TPR;
  let row = (wid.x + wid.y * nwg.x) * (64u / TPR) + lid / TPR;
  ${rowRange(seg)}
  var acc = vec4<f32>(0.0); // [x row i]
  if (row < p.rows) {
    let groups = (p.cols + 3u) / 4u;
    for (var g = t; g < groups; g += TPR) {
      let k = g * 4u;
      let wv = loadW4(row, k, p.cols);
      for (var i = 0u; i < n; i++) { acc[i] += dot(wv, loadX4(p.xOff + (base + i) * p.cols, k, p.cols)); }
    }
  }
  ${reduce}
  if (t == 0u && row < p.rows) {
    for (var i = 0u; i < n; i++) { ${h.y}[p.yOff + (base + i) * p.yStride + p.rowBase + row] = s[i]${biasTerm(h.bias)}; }
  }
}
`;
}

/** Blocked: `slots` from the plan of [x, y] or [x, y, bias]. */
export function blockedShader(type: WeightType, seg: boolean, slots: readonly number[]): string {
  const h = header(seg, slots);
  const x = h.x;
  return `${h.text}${weightLoader(type)}
fn loadX4(o: u32, k: u32, cols: u32) -> vec4<f32> {
  if (k + 3u < cols) { return vec4<f32>(${x}[o + k], ${x}[o + k + 1u], ${x}[o + k + 2u], ${x}[o + k + 3u]); }
  var v = vec4<f32>(0.0);
  for (var j = 0u; j < 4u; j++) { if (k + j < cols) { v[j] = ${x}[o + k + j]; } }
  return v;
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  ${rowRange(seg)}
  let r0 = wid.x * ${BLOCK_ROWS}u + (lid % 16u) * 4u; // this invocation's weight rows r0 .. r0 + 3
  let i0 = wid.y * ${BLOCK_N}u + (lid / 16u) * 4u; // and x rows i0 .. i0 + 3
  if (r0 >= p.rows || i0 >= n) { return; }
  let nr = min(4u, p.rows - r0);
  let ni = min(4u, n - i0);
  var acc: array<vec4<f32>, 4>; // [x row a][weight row j]
  let groups = (p.cols + 3u) / 4u;
  for (var g = 0u; g < groups; g++) {
    let k = g * 4u;
    var w: array<vec4<f32>, 4>;
    for (var j = 0u; j < nr; j++) { w[j] = loadW4(r0 + j, k, p.cols); }
    for (var a = 0u; a < ni; a++) {
      let xv = loadX4(p.xOff + (base + i0 + a) * p.cols, k, p.cols);
      acc[a] += vec4<f32>(dot(w[0], xv), dot(w[1], xv), dot(w[2], xv), dot(w[3], xv));
    }
  }
  for (var a = 0u; a < ni; a++) {
    for (var j = 0u; j < nr; j++) {
      let row = r0 + j;
      ${h.y}[p.yOff + (base + i0 + a) * p.yStride + p.rowBase + row] = acc[a][j]${biasTerm(h.bias)};
    }
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
