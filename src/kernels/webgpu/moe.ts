/**
 * Sparse MoE on the GPU without a host round trip: router matmul, softmax/top-k and grouping by
 * expert run as kernels; each expert's gate, up and down matmuls are dispatched indirectly over its
 * segment of the grouped rows (zero workgroups for an unused expert); a last kernel sums the
 * weighted expert outputs into the token rows.
 */
import { QwenrtError } from "../../util/errors.js";
import type { MoeWeights } from "../types.js";
import { Usage } from "./device.js";
import { bindTensor, type GpuTensor } from "./buffers.js";
import { scratch, type GpuContext } from "./context.js";
import { gpuMatrix, matmulGpu, matmulKernel, segmentGridX } from "./matrix.js";
import { binaryGpu } from "./ops.js";
import { grid1 } from "./pipelines.js";
import { GATHER, GROUP, MAX_EXPERTS, ROUTE, SCATTER } from "./wgsl/moe.js";

/** The MoE composite of one backend; keeps grow-only scratch between calls. */
export class GpuMoe {
  private readonly tensors = new Map<string, GpuTensor>();
  private args: GPUBuffer | undefined; // [experts, 6] indirect grids
  private argsBytes = 0;

  constructor(private readonly ctx: GpuContext) {}

  /** `out[n, hidden]` = Σ over each row's top-k experts of weight × expert SwiGLU(x). */
  forward(w: MoeWeights, x: GpuTensor, n: number, out: GpuTensor): void {
    const ctx = this.ctx;
    const router = gpuMatrix(w.router, "moe router");
    const E = router.rows, hidden = router.cols, k = w.topK;
    if (w.experts.length !== E) throw new QwenrtError("moe", `the router has ${E} rows but there are ${w.experts.length} experts`);
    if (!Number.isInteger(k) || k < 1 || k > E) throw new QwenrtError("moe", `topK must be an integer in 1..${E}, got ${k}`);
    if (E > MAX_EXPERTS) throw new QwenrtError("moe", `${E} experts exceed the router kernel's ${MAX_EXPERTS}`, { code: "unsupported" });
    if (x.length < n * hidden || out.length < n * hidden) throw new QwenrtError("moe", `x and out need ${n * hidden} values`);
    if (x.region.buffer === out.region.buffer && x.byteStart < out.byteStart + n * hidden * 4 && out.byteStart < x.byteStart + n * hidden * 4) {
      throw new QwenrtError("moe", "out must not overlap x");
    }
    if (n === 0) return;
    const experts = w.experts.map((e, i) => {
      const [g, u, d] = [gpuMatrix(e.gate, `expert ${i} gate`), gpuMatrix(e.up, `expert ${i} up`), gpuMatrix(e.down, `expert ${i} down`)];
      if (g.cols !== hidden || u.cols !== hidden || d.rows !== hidden || u.rows !== g.rows || d.cols !== g.rows) {
        throw new QwenrtError("moe", `expert ${i}'s shapes do not match the router's hidden size ${hidden}`);
      }
      return [g, u, d] as const;
    });
    const inter = experts[0]![0].rows;
    const nk = n * k;

    const logits = this.tensor("logits", n * E);
    matmulGpu(ctx, router, x, n, logits, undefined);
    const ids = this.tensor("ids", nk), wts = this.tensor("wts", nk), order = this.tensor("order", nk), pos = this.tensor("pos", nk);
    const seg = this.tensor("seg", 2 * E);
    const args = this.argsBuffer(E * 24);
    const b = (t: GpuTensor, len: number, what: string) => bindTensor(ctx.gd, t, 0, len, what);
    const [lb, ib, wb, ob, pb, sb] = [b(logits, n * E, "router logits"), b(ids, nk, "expert ids"), b(wts, nk, "expert weights"), b(order, nk, "expert order"), b(pos, nk, "expert slots"), b(seg, 2 * E, "expert segments")];
    const route = ctx.pipes.get("moe:route", () => ROUTE);
    ctx.rec.dispatch(route, [n, E, k, w.normalize ? 1 : 0, lb.elem, ib.elem, wb.elem], [lb.resource, ib.resource, wb.resource], grid1(Math.ceil(n / 64)));
    const [gk, dk] = [matmulKernel(hidden, n), matmulKernel(inter, n)]; // gate/up read hidden columns, down inter
    const group = ctx.pipes.get("moe:group", () => GROUP);
    const argsBinding = { buffer: args, offset: 0, size: E * 24 };
    const grids = [segmentGridX(experts[0]![0], gk), gk.tokens, segmentGridX(experts[0]![2], dk), dk.tokens];
    ctx.rec.dispatch(group, [nk, E, ...grids, ib.elem, sb.elem, ob.elem, pb.elem], [ib.resource, sb.resource, ob.resource, pb.resource, argsBinding], [1, 1, 1]);

    const xs = this.tensor("xs", nk * hidden), gate = this.tensor("gate", nk * inter), up = this.tensor("up", nk * inter), ys = this.tensor("ys", nk * hidden);
    const xb = b(x, n * hidden, "moe x"), xsb = b(xs, nk * hidden, "moe rows");
    const gather = ctx.pipes.get("moe:gather", () => GATHER);
    ctx.rec.dispatch(gather, [nk * hidden, k, hidden, xb.elem, ob.elem, xsb.elem], [xb.resource, ob.resource, xsb.resource], grid1(Math.ceil((nk * hidden) / 256)));

    const segment = (e: number, down: boolean) => ({ seg: sb.resource, segOff: sb.elem, expert: e, args, argsOffset: e * 24 + (down ? 12 : 0), maxRows: n });
    experts.forEach(([g, u], e) => {
      matmulGpu(ctx, g, xs, nk, gate, undefined, segment(e, false));
      matmulGpu(ctx, u, xs, nk, up, undefined, segment(e, false));
    });
    binaryGpu(ctx, "siluMul", gate, up, gate, nk * inter);
    experts.forEach(([, , d], e) => matmulGpu(ctx, d, gate, nk, ys, undefined, segment(e, true)));

    const yb = b(ys, nk * hidden, "moe expert outputs"), outb = bindTensor(ctx.gd, out, 0, n * hidden, "moe out");
    const scatter = ctx.pipes.get("moe:scatter", () => SCATTER);
    ctx.rec.dispatch(scatter, [n * hidden, k, hidden, yb.elem, pb.elem, wb.elem, outb.elem], [yb.resource, pb.resource, wb.resource, outb.resource], grid1(Math.ceil((n * hidden) / 256)));
  }

  dispose(): void {
    for (const t of this.tensors.values()) this.ctx.acts.free(t.region);
    this.tensors.clear();
    this.args?.destroy();
    this.args = undefined;
  }

  /** Scratch `name` of at least `words` words (grow-only; its old region is freed in order). */
  private tensor(name: string, words: number): GpuTensor {
    let t = this.tensors.get(name);
    if (t === undefined || t.length < words) {
      if (t !== undefined) this.ctx.acts.free(t.region);
      t = scratch(this.ctx, Math.max(words, t === undefined ? 0 : Math.ceil(t.length * 1.5)), `moe ${name}`);
      this.tensors.set(name, t);
    }
    return t;
  }

  private argsBuffer(bytes: number): GPUBuffer {
    if (this.args === undefined || this.argsBytes < bytes) {
      if (this.args !== undefined) this.ctx.rec.retire(this.args);
      this.argsBytes = bytes;
      this.args = this.ctx.gd.errors.guardOom("moe dispatch grids", bytes, () =>
        this.ctx.gd.device.createBuffer({ size: bytes, usage: Usage.STORAGE | Usage.INDIRECT, label: "moe dispatch grids" }),
      );
    }
    return this.args;
  }
}
