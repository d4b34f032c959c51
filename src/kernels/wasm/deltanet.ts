/**
 * The wasm backend's Gated DeltaNet kernels as pool jobs (assembly/deltanet.ts): the causal conv +
 * SiLU split over channels, gated attention's sigmoid output gate, and the gated delta rule by its recurrence split over (value head,
 * block of 8 value columns) items, each carrying its slice of the state through every token in L1.
 * Per token and head the decay `exp(−exp(A_log) · softplus(a + dt_bias))` and `β = sigmoid(b)` are
 * computed here (n · valueHeads values), q and k are l2-normalised once per key head by a job.
 * Prefill and decode run the same recurrence: the state never leaves float32, as in the reference
 * (ref/deltanet.ts); kernels/cases_hybrid.ts compares the two, whole and in pieces, on 1 and 2 threads.
 */
import { causalConvSiluLoop, deltaNetArrays, sigmoidMulLoop, softplus } from "../host_hybrid.js";
import { hostArg } from "../host.js";
import type { DeltaNetShape, Tensor } from "../types.js";
import type { WasmHeap } from "./memory.js";
import type { JobRunner } from "./pool.js";
import type { KernelIds } from "./protocol.js";
import type { Staging } from "./staging.js";

/** Value columns per delta-rule work item (assembly/deltanet.ts DELTA_BLOCK). */
const DELTA_BLOCK = 8;

export class DeltaNetJobs {
  constructor(
    private readonly ids: KernelIds,
    private readonly pool: JobRunner,
    private readonly staging: Staging,
    private readonly heap: WasmHeap,
  ) {}

  /** `KernelBackend.causalConvSilu`: the outputs by a job over channels, then the state rolled here. */
  causalConvSilu(xT: Tensor, n: number, channels: number, kernel: number, wT: Tensor, stT: Tensor, outT: Tensor): void {
    if (!Number.isInteger(kernel) || kernel < 1 || n <= 0) return causalConvSiluLoop(xT, n, channels, kernel, wT, stT, outT);
    const x = hostArg(xT, "x", n * channels), w = hostArg(wT, "weight", channels * kernel);
    const state = hostArg(stT, "state", (kernel - 1) * channels), out = hostArg(outT, "out", n * channels);
    if (out.buffer === x.buffer && out.byteOffset < x.byteOffset + n * channels * 4 && x.byteOffset < out.byteOffset + n * channels * 4) {
      return causalConvSiluLoop(xT, n, channels, kernel, wT, stT, outT); // it names the aliasing
    }
    const s = this.staging;
    const xp = s.input("conv.x", x, n * channels), wp = s.input("conv.w", w, channels * kernel), sp = s.input("conv.state", state, (kernel - 1) * channels);
    const op = s.output("conv.out", out, n * channels);
    const groups = Math.ceil(channels / 4); // of 4 channels
    this.pool.run(this.ids.convSilu, groups, Math.max(1, Math.ceil(groups / (this.pool.threads * 4))), [xp, wp, sp, op, n, channels, kernel]);
    s.copyOut(out, op, n * channels);
    // The new state: the last kernel − 1 rows of [state; x].
    const past = kernel - 1;
    if (n >= past) state.set(x.subarray((n - past) * channels, n * channels));
    else {
      state.copyWithin(0, n * channels, past * channels);
      state.set(x.subarray(0, n * channels), (past - n) * channels);
    }
  }

  /** `KernelBackend.sigmoidMul` (gated attention's output gate): a job over the gates. */
  sigmoidMul(xT: Tensor, gT: Tensor, rows: number, width: number, gateWidth: number, outT: Tensor): void {
    if (!Number.isInteger(gateWidth) || gateWidth < 1 || width % gateWidth !== 0 || rows <= 0) return sigmoidMulLoop(xT, gT, rows, width, gateWidth, outT);
    const x = hostArg(xT, "x", rows * width), gate = hostArg(gT, "gate", rows * gateWidth), out = hostArg(outT, "out", rows * width);
    const s = this.staging, items = rows * gateWidth;
    const xp = s.input("sg.x", x, rows * width), gp = s.input("sg.gate", gate, items);
    const op = out === x ? xp : s.output("sg.out", out, rows * width);
    this.pool.run(this.ids.sigmoidMul, items, Math.max(1, Math.ceil(items / (this.pool.threads * 4))), [xp, gp, op, width / gateWidth]);
    s.copyOut(out, op, rows * width);
  }

  /** `KernelBackend.gatedDeltaNet` (arguments checked by `deltaNetArrays`). */
  gatedDeltaNet(qkvT: Tensor, aT: Tensor, bT: Tensor, negAT: Tensor, dtT: Tensor, stateT: Tensor, n: number, shape: DeltaNetShape, outT: Tensor): void {
    const { qkv, a, b, negA, dtBias, state, out, width } = deltaNetArrays(qkvT, aT, bT, negAT, dtT, stateT, n, shape, outT);
    if (n === 0) return;
    const { keyHeads: hk, valueHeads: hv, keyDim: dk, valueDim: dv } = shape;
    const s = this.staging;
    // Per token and value head: the decay and β.
    const gates = s.tmpF32("dn.gates", 2 * n * hv); // [2, n, hv] decay, then β
    for (let t = 0; t < n; t++) {
      for (let h = 0; h < hv; h++) {
        const i = t * hv + h;
        gates[i] = Math.exp(negA[h]! * softplus(a[i]! + dtBias[h]!));
        gates[n * hv + i] = 1 / (1 + Math.exp(-b[i]!));
      }
    }
    const qkvP = s.input("dn.qkv", qkv, n * width);
    const qkn = s.tmp("dn.qk", 2 * n * hk * dk * 4); // [2, n, hk, dk] q (scaled), then k
    const rows = n * hk, normChunk = Math.max(1, Math.ceil(rows / (this.pool.threads * 4)));
    this.pool.run(this.ids.l2Norm, rows, normChunk, [qkvP, width * 4, hk, qkn, dk, { f32: 1 / Math.sqrt(dk) }]);
    this.pool.run(this.ids.l2Norm, rows, normChunk, [qkvP + hk * dk * 4, width * 4, hk, qkn + rows * dk * 4, dk, { f32: 1 }]);
    const stP = s.output("dn.state", state, hv * dk * dv, true), outP = s.output("dn.out", out, n * hv * dv);
    const blocks = Math.ceil(dv / DELTA_BLOCK);
    const gp = this.heap.owns(gates) ? gates.byteOffset : s.input("dn.gates", gates, 2 * n * hv);
    this.pool.run(this.ids.deltaRule, hv * blocks, Math.max(1, Math.ceil((hv * blocks) / (this.pool.threads * 8))), [
      qkn, qkn + rows * dk * 4, qkvP + 2 * hk * dk * 4, width * 4, gp, gp + n * hv * 4, stP, outP, n, hk, hv, dk, dv, shape.tiledHeads ? 1 : 0,
    ]);
    s.copyOut(state, stP, hv * dk * dv);
    s.copyOut(out, outP, n * hv * dv);
  }
}
