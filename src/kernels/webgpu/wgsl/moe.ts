/**
 * The MoE router on the GPU: softmax and top-k per token, grouping of the (token, expert) choices
 * by expert with indirect-dispatch arguments for each expert's matmuls, the gather of each choice's
 * input row, and the weighted sum of the experts' outputs back into token rows.
 */
import { FLAT } from "./common.js";

/** Most experts the router kernel takes (its taken-set is a 1024-bit mask). */
export const MAX_EXPERTS = 1024;

/**
 * One invocation per token: softmax over the experts' logits, the k most probable (ties → lower
 * index), optionally renormalised. Params: n, experts, k, normalize, lOff, iOff, wOff.
 */
export const ROUTE = /* wgsl */ `
struct P { n: u32, experts: u32, k: u32, normalize: u32, lOff: u32, iOff: u32, wOff: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> ids: array<u32>;
@group(0) @binding(3) var<storage, read_write> wts: array<f32>;
${FLAT}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = flatGroup(wid, nwg) * 64u + lid;
  if (r >= p.n) { return; }
  let lo = p.lOff + r * p.experts;
  var mx = -3.0e38;
  for (var e = 0u; e < p.experts; e++) { mx = max(mx, logits[lo + e]); }
  var sum = 0.0;
  for (var e = 0u; e < p.experts; e++) { sum += exp(logits[lo + e] - mx); }
  var taken: array<u32, ${MAX_EXPERTS / 32}>;
  var picked = 0.0;
  let out = r * p.k;
  for (var j = 0u; j < p.k; j++) {
    var best = 0u;
    var bp = -1.0;
    for (var e = 0u; e < p.experts; e++) {
      if (((taken[e >> 5u] >> (e & 31u)) & 1u) == 0u) {
        let pe = exp(logits[lo + e] - mx) / sum;
        if (pe > bp) { bp = pe; best = e; }
      }
    }
    taken[best >> 5u] |= 1u << (best & 31u);
    ids[p.iOff + out + j] = best;
    wts[p.wOff + out + j] = bp;
    picked += bp;
  }
  if (p.normalize != 0u) {
    for (var j = 0u; j < p.k; j++) { wts[p.wOff + out + j] = wts[p.wOff + out + j] / picked; }
  }
}
`;

/**
 * One invocation: counting sort of the n·k choices by expert (rows ascending within an expert).
 * Writes seg[2e] (first slot), seg[2e+1] (count), order[slot] = choice, pos[choice] = slot, and per
 * expert the indirect grids of its gate/up (args[6e ..]) and down (args[6e + 3 ..]) matmuls: x as
 * given, y the segment's rows over the kernel's x rows per workgroup (0: one workgroup covers them
 * all), and no workgroups for an unused expert.
 * Params: nk, experts, gateX, gateTokens, downX, downTokens, iOff, sOff, orOff, pOff.
 */
export const GROUP = /* wgsl */ `
struct P { nk: u32, experts: u32, gateX: u32, gateTokens: u32, downX: u32, downTokens: u32, iOff: u32, sOff: u32, orOff: u32, pOff: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> ids: array<u32>;
@group(0) @binding(2) var<storage, read_write> seg: array<u32>;
@group(0) @binding(3) var<storage, read_write> order: array<u32>;
@group(0) @binding(4) var<storage, read_write> pos: array<u32>;
@group(0) @binding(5) var<storage, read_write> args: array<u32>;

fn grid(at: u32, x: u32, tokens: u32, count: u32) {
  args[at] = select(x, 0u, count == 0u);
  args[at + 1u] = select(1u, (count + tokens - 1u) / max(tokens, 1u), tokens > 0u && count > 0u);
  args[at + 2u] = 1u;
}

@compute @workgroup_size(1)
fn main() {
  for (var e = 0u; e < p.experts; e++) { seg[p.sOff + 2u * e + 1u] = 0u; }
  for (var c = 0u; c < p.nk; c++) { let e = ids[p.iOff + c]; seg[p.sOff + 2u * e + 1u] += 1u; }
  var first = 0u;
  for (var e = 0u; e < p.experts; e++) {
    seg[p.sOff + 2u * e] = first;
    args[6u * e] = first; // fill cursor until the grids are written
    first += seg[p.sOff + 2u * e + 1u];
  }
  for (var c = 0u; c < p.nk; c++) {
    let e = ids[p.iOff + c];
    let slot = args[6u * e];
    args[6u * e] = slot + 1u;
    order[p.orOff + slot] = c;
    pos[p.pOff + c] = slot;
  }
  for (var e = 0u; e < p.experts; e++) {
    let count = seg[p.sOff + 2u * e + 1u];
    grid(6u * e, p.gateX, p.gateTokens, count);
    grid(6u * e + 3u, p.downX, p.downTokens, count);
  }
}
`;

/** xs[slot, :] = x[order[slot] / k, :]. Params: len (= nk·hidden), k, hidden, xOff, orOff, oOff. */
export const GATHER = /* wgsl */ `
struct P { len: u32, k: u32, hidden: u32, xOff: u32, orOff: u32, oOff: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> order: array<u32>;
@group(0) @binding(3) var<storage, read_write> xs: array<f32>;
${FLAT}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flatGroup(wid, nwg) * 256u + lid;
  if (i >= p.len) { return; }
  let slot = i / p.hidden;
  xs[p.oOff + i] = x[p.xOff + (order[p.orOff + slot] / p.k) * p.hidden + i % p.hidden];
}
`;

/** out[r, :] = Σ_j wts[r·k + j] · ys[pos[r·k + j], :]. Params: len (= n·hidden), k, hidden, yOff, pOff, wOff, oOff. */
export const SCATTER = /* wgsl */ `
struct P { len: u32, k: u32, hidden: u32, yOff: u32, pOff: u32, wOff: u32, oOff: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> ys: array<f32>;
@group(0) @binding(2) var<storage, read_write> pos: array<u32>;
@group(0) @binding(3) var<storage, read_write> wts: array<f32>;
@group(0) @binding(4) var<storage, read_write> o: array<f32>;
${FLAT}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flatGroup(wid, nwg) * 256u + lid;
  if (i >= p.len) { return; }
  let r = i / p.hidden;
  let d = i % p.hidden;
  var acc = 0.0;
  for (var j = 0u; j < p.k; j++) {
    let c = r * p.k + j;
    acc += wts[p.wOff + c] * ys[p.yOff + pos[p.pOff + c] * p.hidden + d];
  }
  o[p.oOff + i] = acc;
}
`;
