/**
 * Attention over the head-major KV cache and the cache writes. KV buffers are `array<u32>`: float32
 * bits, or two IEEE halves per word (element e in word e/2, low half first) converted exactly in
 * integer arithmetic, so an f16 cache needs no `shader-f16`.
 */
import type { KvType } from "../../types.js";
import { FLAT, HALF, tensorArrays, treeReduce } from "./common.js";

function kvReader(name: string, buf: string, off: string, type: KvType): string {
  return type === "f16"
    ? `fn ${name}(e: u32) -> f32 { return halfToF32((${buf}[${off} + (e >> 1u)] >> ((e & 1u) * 16u)) & 0xffffu); }`
    : `fn ${name}(e: u32) -> f32 { return bitcast<f32>(${buf}[${off} + e]); }`;
}

/** Largest head dimension the attention kernel takes. */
export const ATTENTION_MAX_HEAD_DIM = 256;

/**
 * Causal GQA, one 64-invocation workgroup per (head, query): keys in chunks of 64 (one per
 * invocation: its q·k), an online softmax (running max and sum, flash-style), and each invocation
 * accumulating up to 4 output dimensions over the chunk's values. Grid: (heads, n).
 * Bindings: k, v, then the tensors [q, out] from a plan's slots.
 * Params: n, start, capacity, heads, kvHeads, headDim, scale, kOff, vOff, qOff, oOff.
 */
export function attentionShader(type: KvType, slots: readonly number[]): string {
  const { decl, names: [q, o] } = tensorArrays(slots, 3);
  return /* wgsl */ `
struct P { n: u32, start: u32, capacity: u32, heads: u32, kvHeads: u32, headDim: u32, scale: f32, kOff: u32, vOff: u32, qOff: u32, oOff: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> kb: array<u32>;
@group(0) @binding(2) var<storage, read_write> vb: array<u32>;
${decl}${HALF}
${kvReader("kAt", "kb", "p.kOff", type)}
${kvReader("vAt", "vb", "p.vOff", type)}
${treeReduce(64)}
var<workgroup> qs: array<f32, ${ATTENTION_MAX_HEAD_DIM}>;
var<workgroup> pr: array<f32, 64>;
const NEG = -3.0e38;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let h = wid.x;
  let i = wid.y;
  let hd = p.headDim;
  let qo = p.qOff + (i * p.heads + h) * hd;
  for (var d = lid; d < hd; d += 64u) { qs[d] = ${q}[qo + d]; }
  workgroupBarrier();
  let len = p.start + i + 1u; // causal: keys 0 .. start + i
  let kvb = (h / (p.heads / p.kvHeads)) * p.capacity * hd;
  var m = NEG;
  var l = 0.0;
  var acc = vec4<f32>(0.0); // output dims lid + 64·t
  for (var c0 = 0u; c0 < len; c0 += 64u) {
    let j = c0 + lid;
    var s = NEG;
    if (j < len) {
      var dotv = 0.0;
      let ko = kvb + j * hd;
      for (var d = 0u; d < hd; d++) { dotv += qs[d] * kAt(ko + d); }
      s = dotv * p.scale;
    }
    let mNew = max(m, wgMax(s, lid));
    let alpha = exp(m - mNew);
    let e = select(0.0, exp(s - mNew), j < len);
    pr[lid] = e;
    l = l * alpha + wgSum(e, lid); // its barriers also publish pr
    let cn = min(64u, len - c0);
    for (var t = 0u; t < 4u; t++) {
      let d = lid + t * 64u;
      if (d < hd) {
        var a = acc[t] * alpha;
        for (var jj = 0u; jj < cn; jj++) { a += pr[jj] * vAt(kvb + (c0 + jj) * hd + d); }
        acc[t] = a;
      }
    }
    m = mNew;
    workgroupBarrier(); // pr is rewritten by the next chunk
  }
  let inv = 1.0 / l;
  let oo = p.oOff + (i * p.heads + h) * hd;
  for (var t = 0u; t < 4u; t++) {
    let d = lid + t * 64u;
    if (d < hd) { ${o}[oo + d] = acc[t] * inv; }
  }
}
`;
}

/**
 * writeKv: src [rows, kvHeads, headDim] → dst [kvHeads, capacity, headDim] at position start + r.
 * f32: one invocation per value; f16: one per pair of values (headDim even), one u32 word each.
 * Params: len (values, or pairs for f16), kvHeads, headDim, capacity, start, sOff, dOff.
 */
export function writeKvShader(type: KvType): string {
  const body =
    type === "f16"
      ? `let e = 2u * i;
  let d = e % p.headDim;
  let rh = e / p.headDim; // r · kvHeads + h
  let dst = ((rh % p.kvHeads) * p.capacity + p.start + rh / p.kvHeads) * p.headDim + d;
  kv[p.dOff + (dst >> 1u)] = f32ToHalf(src[p.sOff + e]) | (f32ToHalf(src[p.sOff + e + 1u]) << 16u);`
      : `let d = i % p.headDim;
  let rh = i / p.headDim;
  kv[p.dOff + ((rh % p.kvHeads) * p.capacity + p.start + rh / p.kvHeads) * p.headDim + d] = bitcast<u32>(src[p.sOff + i]);`;
  return /* wgsl */ `
struct P { len: u32, kvHeads: u32, headDim: u32, capacity: u32, start: u32, sOff: u32, dOff: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> kv: array<u32>;
${HALF}
${FLAT}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flatGroup(wid, nwg) * 256u + lid;
  if (i >= p.len) { return; }
  ${body}
}
`;
}

/**
 * copyKv of halves at any element offsets: one invocation per destination word, each writing its
 * word whole (halves outside the copied range keep their value); tensors [src, dst] from a plan's
 * slots. Params: words, len, sElem, dElem (element offsets of the ranges in their bindings).
 */
export function copyHalvesShader(slots: readonly number[]): string {
  const { decl, names: [src, dst] } = tensorArrays(slots, 1, "u32");
  return /* wgsl */ `
struct P { words: u32, len: u32, sElem: u32, dElem: u32 }
@group(0) @binding(0) var<uniform> p: P;
${decl}${FLAT}
fn srcHalf(e: u32) -> u32 { return (${src}[e >> 1u] >> ((e & 1u) * 16u)) & 0xffffu; }
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flatGroup(wid, nwg) * 256u + lid;
  if (i >= p.words) { return; }
  let wi = (p.dElem >> 1u) + i;
  var word = ${dst}[wi];
  for (var s = 0u; s < 2u; s++) {
    let e = 2u * wi + s;
    if (e >= p.dElem && e < p.dElem + p.len) {
      let shift = s * 16u;
      word = (word & ~(0xffffu << shift)) | (srcHalf(p.sElem + e - p.dElem) << shift);
    }
  }
  ${dst}[wi] = word;
}
`;
}
