// Element-wise kernels (attention is in attention.ts). Each works on items `i0 .. i1` so the pool can split it.
import { hsum, madd, siluMulRow } from "./simd";

/** RMSNorm rows i0..i1. x, out: [rows, dim] f32 (may alias); w: [dim] f32. */
export function rmsNormRows(x: usize, w: usize, out: usize, dim: i32, eps: f32, i0: i32, i1: i32): void {
  const body = dim & ~3;
  for (let r = i0; r < i1; r++) {
    const xr = x + ((<usize>r * dim) << 2), orow = out + ((<usize>r * dim) << 2);
    let acc = f32x4.splat(0);
    let c = 0;
    for (; c < body; c += 4) {
      const v = v128.load(xr + (<usize>c << 2));
      acc = madd(v, v, acc);
    }
    let ss = hsum(acc);
    for (; c < dim; c++) { const v = load<f32>(xr + (<usize>c << 2)); ss += v * v; }
    const inv: f32 = 1 / Mathf.sqrt(ss / <f32>dim + eps);
    const iv = f32x4.splat(inv);
    c = 0;
    for (; c < body; c += 4) {
      const o = <usize>c << 2;
      v128.store(orow + o, f32x4.mul(f32x4.mul(v128.load(xr + o), iv), v128.load(w + o)));
    }
    for (; c < dim; c++) { const o = <usize>c << 2; store<f32>(orow + o, load<f32>(xr + o) * inv * load<f32>(w + o)); }
  }
}

/** Rotary embedding (rotate_half) on items i0..i1 of the [n, heads] grid, in place.
 * x: [n, heads, hd] f32; cos, sin: [n, hd / 2] f32. */
export function ropeItems(x: usize, cos: usize, sin: usize, heads: i32, hd: i32, i0: i32, i1: i32): void {
  const half = hd >> 1;
  const body = half & ~3;
  for (let it = i0; it < i1; it++) {
    const row = it / heads;
    const p = x + ((<usize>it * hd) << 2), pb = p + (<usize>half << 2);
    const cp = cos + ((<usize>row * half) << 2), sp = sin + ((<usize>row * half) << 2);
    let j = 0;
    for (; j < body; j += 4) {
      const o = <usize>j << 2;
      const a = v128.load(p + o), b = v128.load(pb + o), c = v128.load(cp + o), s = v128.load(sp + o);
      v128.store(p + o, f32x4.sub(f32x4.mul(a, c), f32x4.mul(b, s)));
      v128.store(pb + o, f32x4.add(f32x4.mul(b, c), f32x4.mul(a, s)));
    }
    for (; j < half; j++) {
      const o = <usize>j << 2;
      const a = load<f32>(p + o), b = load<f32>(pb + o), c = load<f32>(cp + o), s = load<f32>(sp + o);
      store<f32>(p + o, a * c - b * s);
      store<f32>(pb + o, b * c + a * s);
    }
  }
}

/** out[i] = silu(gate[i]) · up[i] for i in i0..i1 (out may alias gate). All [length] f32. */
export function siluMulRange(gate: usize, up: usize, out: usize, i0: i32, i1: i32): void {
  const o = <usize>i0 << 2;
  siluMulRow(gate + o, up + o, out + o, i1 - i0);
}

/** out[i] = a[i] + b[i] for i in i0..i1 (out may alias a or b). All [length] f32. */
export function addRange(a: usize, b: usize, out: usize, i0: i32, i1: i32): void {
  let i = i0;
  for (; i + 8 <= i1; i += 8) {
    const o = <usize>i << 2;
    const s0 = f32x4.add(v128.load(a + o), v128.load(b + o));
    const s1 = f32x4.add(v128.load(a + o + 16), v128.load(b + o + 16));
    v128.store(out + o, s0);
    v128.store(out + o + 16, s1);
  }
  for (; i < i1; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, load<f32>(a + o) + load<f32>(b + o));
  }
}

/** `addRange` over the whole `length`, called directly by the host for short vectors (no job). */
export function addF32(a: usize, b: usize, out: usize, length: i32): void {
  addRange(a, b, out, 0, length);
}
