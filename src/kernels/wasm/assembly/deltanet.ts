// Gated DeltaNet kernels (Qwen3-Next, Qwen3.5): the causal depthwise conv + SiLU, the l2 norm of
// q and k, and the gated delta rule by its recurrence. The rule's value columns are independent
// (column j of the state only meets column j of v), so a work item is one value head's block of 8
// columns carried through every token: its [keyDim, 8] slice of the state (4 KiB at keyDim 128)
// stays in L1 from the first token to the last, and heads × blocks items share out over threads.
import { cOne } from "./features";
import { madd, siluMulX4 } from "./simd";

/** Columns of the state per work item of `deltaRuleItems`. */
export const DELTA_BLOCK: i32 = 8;

/** Causal conv + SiLU over channel groups i0..i1 (4 channels each; all `n` rows):
 * out[t, c] = silu(Σ_j w[c, j] · in[t + j, c]) where `in` is [state; x] (state: [kernel - 1,
 * channels], x: [n, channels], w: [channels, kernel]). The state is only read (the host rolls it).
 * Kernel 4 (every Qwen hybrid) runs 4 channels per f32x4 with the weights held in registers. */
export function convSiluItems(x: usize, w: usize, state: usize, out: usize, n: i32, channels: i32, kernel: i32, i0: i32, i1: i32): void {
  const rowBytes = <usize>channels << 2;
  for (let g = i0; g < i1; g++) {
    const c = g << 2;
    if (kernel != 4 || c + 4 > channels) {
      for (let cc = c; cc < min(c + 4, channels); cc++) convColumn(x, w, state, out, n, channels, kernel, cc);
      continue;
    }
    const wc = w + ((<usize>c * 4) << 2); // [4 channels, 4 taps]
    // Tap j of the 4 channels: w[c + l, j] in lane l.
    const m0 = v128.load(wc), m1 = v128.load(wc, 16), m2 = v128.load(wc, 32), m3 = v128.load(wc, 48);
    const t01lo = v128.shuffle<f32>(m0, m1, 0, 4, 1, 5), t01hi = v128.shuffle<f32>(m0, m1, 2, 6, 3, 7);
    const t23lo = v128.shuffle<f32>(m2, m3, 0, 4, 1, 5), t23hi = v128.shuffle<f32>(m2, m3, 2, 6, 3, 7);
    const w0 = v128.shuffle<f32>(t01lo, t23lo, 0, 1, 4, 5), w1 = v128.shuffle<f32>(t01lo, t23lo, 2, 3, 6, 7);
    const w2 = v128.shuffle<f32>(t01hi, t23hi, 0, 1, 4, 5), w3 = v128.shuffle<f32>(t01hi, t23hi, 2, 3, 6, 7);
    const col = <usize>c << 2;
    // The window [in[t], in[t + 1], in[t + 2]] slides down the rows; in[t + 3] is x's row t.
    let r0 = v128.load(state + col), r1 = v128.load(state + rowBytes + col), r2 = v128.load(state + 2 * rowBytes + col);
    const one = cOne; // SiLU as simd.ts's fused SwiGLU with up = 1 (its exp constants come from globals)
    for (let t = 0; t < n; t++) {
      const r3 = v128.load(x + <usize>t * rowBytes + col);
      const y = madd(w3, r3, madd(w2, r2, madd(w1, r1, f32x4.mul(w0, r0))));
      v128.store(out + <usize>t * rowBytes + col, siluMulX4(y, one));
      r0 = r1;
      r1 = r2;
      r2 = r3;
    }
  }
}

/** `convSiluItems` for one channel, any kernel size. */
function convColumn(x: usize, w: usize, state: usize, out: usize, n: i32, channels: i32, kernel: i32, c: i32): void {
  const past = kernel - 1;
  const wc = w + ((<usize>c * kernel) << 2);
  for (let t = 0; t < n; t++) {
    let s: f32 = 0;
    for (let j = 0; j < kernel; j++) {
      const r = t + j; // row of [state; x]
      const v = r < past ? load<f32>(state + ((<usize>r * channels + c) << 2)) : load<f32>(x + ((<usize>(r - past) * channels + c) << 2));
      s += load<f32>(wc + (<usize>j << 2)) * v;
    }
    store<f32>(out + ((<usize>t * channels + c) << 2), s / (1 + Mathf.exp(-s)));
  }
}

/** Gated attention's output gate on items i0..i1 of [rows, gates]: the `per` values of each
 * gate's group scaled by sigmoid(gate). x, out: [rows, gates · per] (may alias); gate: [rows, gates]. */
export function sigmoidMulItems(x: usize, gate: usize, out: usize, per: i32, i0: i32, i1: i32): void {
  const body = per & ~3;
  for (let it = i0; it < i1; it++) {
    const g = load<f32>(gate + (<usize>it << 2));
    const sg: f32 = 1 / (1 + Mathf.exp(-g));
    const sv = f32x4.splat(sg);
    const xp = x + ((<usize>it * per) << 2), op = out + ((<usize>it * per) << 2);
    let i = 0;
    for (; i < body; i += 4) v128.store(op + (<usize>i << 2), f32x4.mul(v128.load(xp + (<usize>i << 2)), sv));
    for (; i < per; i++) store<f32>(op + (<usize>i << 2), load<f32>(xp + (<usize>i << 2)) * sg);
  }
}

/** Rows i0..i1 of `src` ([rows, dim], row stride `stride` bytes) l2-normalised and scaled into
 * `dst` ([rows, dim] packed): x · scale / sqrt(Σx² + 1e-6). Row r is src's row r / per, part r % per. */
export function l2NormItems(src: usize, stride: i32, per: i32, dst: usize, dim: i32, scale: f32, i0: i32, i1: i32): void {
  for (let r = i0; r < i1; r++) {
    const sp = src + <usize>(r / per) * stride + ((<usize>(r % per) * dim) << 2), dp = dst + ((<usize>r * dim) << 2);
    let ss: f64 = 0;
    for (let i = 0; i < dim; i++) {
      const v = <f64>load<f32>(sp + (<usize>i << 2));
      ss += v * v;
    }
    const inv = <f32>(<f64>scale / Math.sqrt(ss + 1e-6));
    for (let i = 0; i < dim; i++) store<f32>(dp + (<usize>i << 2), load<f32>(sp + (<usize>i << 2)) * inv);
  }
}

/**
 * The gated delta rule for items i0..i1 of [valueHeads, ceil(dv / 8)] over `n` tokens:
 * per token, with d = decay and β the head's gate values, S ← d·S; δ = β(v − Sᵀk); S ← S + kδᵀ;
 * o = Sᵀq. qn, kn: [n, keyHeads, dk] normalised (q scaled); v at `v + t · vstride` bytes, [hv, dv];
 * dec, beta: [n, hv]; state: [hv, dk, dv]; out: [n, hv, dv]. Value head h reads key head
 * `tiled ? h % hk : h / (hv / hk)`.
 */
export function deltaRuleItems(qn: usize, kn: usize, v: usize, vstride: i32, dec: usize, beta: usize, state: usize, out: usize, n: i32, hk: i32, hv: i32, dk: i32, dv: i32, tiled: i32, i0: i32, i1: i32): void {
  const blocks = (dv + DELTA_BLOCK - 1) / DELTA_BLOCK;
  const rs = <usize>dv << 2; // state row stride
  const kstride = (<usize>hk * dk) << 2; // bytes from one token's k (or q) rows to the next's
  for (let it = i0; it < i1; it++) {
    const h = it / blocks, j0 = (it % blocks) * DELTA_BLOCK;
    const kh = tiled != 0 ? h % hk : h / (hv / hk);
    const S = state + ((<usize>h * dk * dv + j0) << 2);
    const width = min(DELTA_BLOCK, dv - j0);
    const k0 = kn + ((<usize>kh * dk) << 2), q0 = qn + ((<usize>kh * dk) << 2);
    const v0 = v + ((<usize>h * dv + j0) << 2), o0 = out + ((<usize>h * dv + j0) << 2);
    const ostride = <usize>hv * dv << 2;
    if (width == DELTA_BLOCK) {
      blockTokens(S, rs, k0, q0, kstride, v0, <usize>vstride, o0, ostride, dec + (<usize>h << 2), beta + (<usize>h << 2), <usize>hv << 2, n, dk);
      continue;
    }
    for (let t = 0; t < n; t++) {
      const d = load<f32>(dec + ((<usize>t * hv + h) << 2)), bt = load<f32>(beta + ((<usize>t * hv + h) << 2));
      const kr = k0 + <usize>t * kstride, qr = q0 + <usize>t * kstride, vp = v0 + <usize>t * vstride, op = o0 + <usize>t * ostride;
      for (let j = 0; j < width; j++) columnStep(S + (<usize>j << 2), rs, kr, qr, vp + (<usize>j << 2), op + (<usize>j << 2), d, bt, dk);
    }
  }
}

/**
 * All `n` tokens on an 8-column block of the state (two f32x4 per row), one pass over the block per
 * token: the pass that writes S_{t+1} = d·S_t + k_t δ_tᵀ also sums o_t = S_{t+1}ᵀq_t and the next
 * token's S_{t+1}ᵀk_{t+1} (δ_{t+1} needs it before it can update anything); only the first token
 * reads the block once more for S_0ᵀk_0. Pointers step by `*stride` bytes per token; dec and beta
 * by `gstride`.
 */
function blockTokens(S: usize, rs: usize, k0: usize, q0: usize, kstride: usize, v0: usize, vstride: usize, out0: usize, ostride: usize, dec: usize, beta: usize, gstride: usize, n: i32, dk: i32): void {
  // kv = S_0ᵀk_0.
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
  let p = S;
  for (let i = 0; i < dk; i++) {
    const ki = f32x4.splat(load<f32>(k0 + (<usize>i << 2)));
    a0 = madd(v128.load(p), ki, a0);
    a1 = madd(v128.load(p, 16), ki, a1);
    p += rs;
  }
  for (let t = 0; t < n; t++) {
    const kr = k0 + <usize>t * kstride, qr = q0 + <usize>t * kstride;
    const dd = f32x4.splat(load<f32>(dec + <usize>t * gstride)), bb = f32x4.splat(load<f32>(beta + <usize>t * gstride));
    const vp = v0 + <usize>t * vstride;
    // δ = β(v − d·S_tᵀk_t).
    const d0 = f32x4.mul(bb, f32x4.sub(v128.load(vp), f32x4.mul(dd, a0)));
    const d1 = f32x4.mul(bb, f32x4.sub(v128.load(vp, 16), f32x4.mul(dd, a1)));
    let o0 = f32x4.splat(0), o1 = f32x4.splat(0);
    p = S;
    if (t + 1 < n) {
      const kn = kr + kstride;
      a0 = f32x4.splat(0);
      a1 = f32x4.splat(0);
      for (let i = 0; i < dk; i++) {
        const off = <usize>i << 2;
        const ki = f32x4.splat(load<f32>(kr + off)), qi = f32x4.splat(load<f32>(qr + off)), ni = f32x4.splat(load<f32>(kn + off));
        const s0 = madd(ki, d0, f32x4.mul(dd, v128.load(p)));
        const s1 = madd(ki, d1, f32x4.mul(dd, v128.load(p, 16)));
        v128.store(p, s0);
        v128.store(p, s1, 16);
        o0 = madd(s0, qi, o0);
        o1 = madd(s1, qi, o1);
        a0 = madd(s0, ni, a0);
        a1 = madd(s1, ni, a1);
        p += rs;
      }
    } else {
      for (let i = 0; i < dk; i++) { // the last token: no next k to sum
        const off = <usize>i << 2;
        const ki = f32x4.splat(load<f32>(kr + off)), qi = f32x4.splat(load<f32>(qr + off));
        const s0 = madd(ki, d0, f32x4.mul(dd, v128.load(p)));
        const s1 = madd(ki, d1, f32x4.mul(dd, v128.load(p, 16)));
        v128.store(p, s0);
        v128.store(p, s1, 16);
        o0 = madd(s0, qi, o0);
        o1 = madd(s1, qi, o1);
        p += rs;
      }
    }
    const op = out0 + <usize>t * ostride;
    v128.store(op, o0);
    v128.store(op, o1, 16);
  }
}

/** One token on one column of the state (a block's tail when dv is not a multiple of 8). */
function columnStep(S: usize, rs: usize, kr: usize, qr: usize, vp: usize, op: usize, d: f32, bt: f32, dk: i32): void {
  let kv: f32 = 0;
  for (let i = 0; i < dk; i++) kv += load<f32>(S + <usize>i * rs) * load<f32>(kr + (<usize>i << 2));
  const delta = bt * (load<f32>(vp) - d * kv);
  let o: f32 = 0;
  for (let i = 0; i < dk; i++) {
    const s = d * load<f32>(S + <usize>i * rs) + load<f32>(kr + (<usize>i << 2)) * delta;
    store<f32>(S + <usize>i * rs, s);
    o += s * load<f32>(qr + (<usize>i << 2));
  }
  store<f32>(op, o);
}
