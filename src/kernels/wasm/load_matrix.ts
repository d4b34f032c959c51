/**
 * Loading weight matrices into the banks: type checks, what a matrix is stored as (conversion on
 * load, see load_convert.ts), where its rows go (bank.ts `placeRows`) and the repacked bytes. Two
 * ways in: a whole `HostMatrix` already in host memory, or a reader of the source rows that fills
 * the destination itself — straight into the bank when the stored layout is the file's (f32, f16,
 * bf16 kept as they are); into a staging buffer of the bank, repacked there by the pool
 * (repack_pool.ts), when only the layout differs; else a slab of rows at a time through one small
 * reused host buffer (conversions, quantize-on-load) — so a model loads without a host copy of any
 * whole tensor.
 */
import { rowBytes } from "../../formats/quant/index.js";
import { QwenrtError } from "../../util/errors.js";
import type { HostMatrix, MatrixRowReader, WeightType } from "../types.js";
import type { Banks } from "./bank.js";
import { CONVERTED, convertInto, storedType } from "./load_convert.js";
import { PackedMatrix, WasmMatrix, type WasmDtype } from "./matrix.js";
import type { PoolQuantizer } from "./quantize_rows.js";
import { STAGE_AREA, type PoolRepacker, type RowSink } from "./repack_pool.js";
import { NATIVE_TYPES, interleaveQ4, interleaveQ8, repackedSize, subBlockLanes } from "./repack.js";

/** Source bytes read per slab when a matrix is converted or repacked on its way in. */
const SLAB_BYTES = 16 << 20;

/** Rows of a split stay in whole groups of this many (the interleaved layouts' row quads). */
const ROW_GRANULE = 4;

/** Layouts that keep the file's bytes unchanged: these read straight into their bank. */
const IDENTITY: readonly WeightType[] = ["f32", "f16", "bf16"];

/** What a loaded matrix will be, before any memory is taken. */
export interface MatrixPlan {
  readonly stored: WeightType;
  readonly il: boolean;
  /** Bytes the backend will hold (the repacked layout). */
  readonly bytes: number;
}

export class MatrixLoader {
  private readonly announced = new Set<WeightType>(); // source types whose conversion was logged
  private slab = new Uint8Array(0); // grow-only source buffer of the slab path

  constructor(
    private readonly banks: Banks,
    private readonly relaxed: boolean,
    private readonly dtype: WasmDtype | undefined,
    private readonly log: (line: string) => void,
    /** Quantize-on-load (`dtype`) on the worker pool; absent: the reference quantizers (same bytes). */
    private readonly quantizer?: PoolQuantizer,
    /** The kernels run the relaxed i8 dot-add: interleaved q8_0 is stored in its order (repack.ts). */
    private readonly dotAdd = false,
  ) {}

  /** The stored type, layout and size of a `rows × cols` matrix of `type` (no memory taken, nothing logged). */
  plan(type: WeightType, rows: number, cols: number): MatrixPlan {
    const stored = storedType(type, cols, this.dtype);
    if (!NATIVE_TYPES.includes(stored)) {
      throw new QwenrtError("weights", `the wasm backend has no kernel for "${stored}" (supported: ${NATIVE_TYPES.join(", ")})`, { code: "unsupported" });
    }
    // One decision for the whole matrix: every part of a split one gets the same layout.
    const il = (stored === "q4_0" && interleaveQ4(this.relaxed, rows, cols)) || (stored === "q8_0" && interleaveQ8(rows, cols)) || subBlockLanes(this.relaxed, stored);
    return { stored, il, bytes: repackedSize(stored, rows, cols).bytes };
  }

  /** Copy `m` into the banks in the layout its kernel reads (converting types without a kernel). */
  load(m: HostMatrix): WasmMatrix {
    const need = m.rows * rowBytes(m.type, m.cols);
    if (m.bytes.byteLength !== need) {
      throw new QwenrtError("weights", `a [${m.rows}, ${m.cols}] ${m.type} matrix needs ${need} bytes, got ${m.bytes.byteLength}`);
    }
    const { stored, parts } = this.reserve(m.type, m.rows, m.cols, true);
    const src = rowBytes(m.type, m.cols);
    for (const { part: p, stage } of parts) {
      const rows = { type: m.type, rows: p.rows, cols: m.cols, bytes: m.bytes.subarray(p.first * src, (p.first + p.rows) * src) };
      // Quantize-on-load and conversions go through a slab-sized scratch, never a whole-matrix copy.
      try {
        convertInto(rows, stored, this.sink(p, stage), 0, this.quantizer);
      } finally {
        this.unstage(p, stage);
      }
    }
    return new WasmMatrix(this.banks, stored, m.rows, m.cols, parts.map((x) => x.part));
  }

  /** Load a `rows × cols` matrix of `type` whose source rows `read` provides. */
  async loadRows(type: WeightType, rows: number, cols: number, read: MatrixRowReader): Promise<WasmMatrix> {
    const identity = IDENTITY.includes(type) && this.plan(type, rows, cols).stored === type;
    const { stored, parts } = this.reserve(type, rows, cols, !identity);
    const src = rowBytes(type, cols);
    for (const { part: p, stage } of parts) {
      try {
        const repacker = this.banks.all[p.bank]!.repacker;
        if (identity) {
          // The file's bytes are the stored bytes: straight into place, a few reads in flight (each
          // first touch of the fresh pages costs the reading thread, so one read runs at 0.26 GB/s).
          await readInPlace(read, p.first, p.rows, src, this.bytesOf(p), Math.min(4, repacker.threads));
          continue;
        }
        const kind = stored === type ? repacker.kind(p) : undefined;
        if (kind !== undefined) {
          await readStaged(repacker, kind, p, stage, read);
          continue;
        }
        const slabRows = Math.max(1, Math.floor(SLAB_BYTES / src));
        if (this.slab.byteLength < Math.min(slabRows, p.rows) * src) this.slab = new Uint8Array(Math.min(slabRows, p.rows) * src);
        const put = this.sink(p, stage);
        for (let r = 0; r < p.rows; r += slabRows) {
          const n = Math.min(slabRows, p.rows - r);
          const bytes = this.slab.subarray(0, n * src);
          await read(p.first + r, n, bytes);
          convertInto({ type, rows: n, cols, bytes }, stored, put, r, this.quantizer);
        }
      } finally {
        this.unstage(p, stage);
      }
    }
    return new WasmMatrix(this.banks, stored, rows, cols, parts.map((x) => x.part));
  }

  /**
   * Plan, announce a conversion, place the rows and allocate each part; with `staged`, first a
   * staging buffer of STAGE_AREA bytes in the part's bank. The buffer goes below its part, so once
   * released (`unstage`) the next matrix's buffer takes the same, already touched, pages: a first
   * touch of fresh memory costs ~11 µs a page on these machines (0.35 GB/s), and every staging
   * buffer on fresh pages would add a read at that speed.
   */
  private reserve(type: WeightType, rows: number, cols: number, staged: boolean): { stored: WeightType; parts: { part: PackedMatrix; stage: number }[] } {
    const { stored, il } = this.plan(type, rows, cols);
    const conv = CONVERTED[type];
    if (conv !== undefined && !this.announced.has(type)) {
      this.announced.add(type);
      this.log(`wasm backend: no ${type} kernel; converting ${type} matrices to ${conv.to} on load (${conv.exact ? "exact" : "lossy, ~8-bit"})`);
    }
    const rowSize = repackedSize(stored, 1, cols).bytes; // every layout is linear in rows
    const parts = this.banks.placeRows(rows, rowSize, ROW_GRANULE).map(({ bank, first, rows: n }) => {
      const stage = staged ? bank.heap.alloc(STAGE_AREA) : -1;
      const { bytes, scales } = repackedSize(stored, n, cols);
      const ptr = bank.heap.alloc(bytes);
      return { part: new PackedMatrix(bank.index, stored, first, n, cols, ptr, ptr + scales, bytes, il, il && stored === "q8_0" && this.dotAdd), stage };
    });
    return { stored, parts };
  }

  /** Where `p`'s ggml rows go: through its staging buffer to the pool's repack, or repack.ts. */
  private sink(p: PackedMatrix, stage: number): RowSink {
    return this.banks.all[p.bank]!.repacker.sink(p, this.bytesOf(p), { ptr: stage, bytes: STAGE_AREA });
  }

  private unstage(p: PackedMatrix, stage: number): void {
    if (stage >= 0) this.banks.all[p.bank]!.heap.release(stage);
  }

  private bytesOf(p: PackedMatrix): Uint8Array {
    return this.banks.all[p.bank]!.heap.u8(p.ptr, p.bytes);
  }
}

/** Rows `first .. first + rows` (`row` bytes each) read into `dst` by up to `inFlight` concurrent
 * reads of `step` rows (default: about STAGE_AREA / 2 bytes). */
export async function readInPlace(read: MatrixRowReader, first: number, rows: number, row: number, dst: Uint8Array, inFlight: number, step = Math.max(1, Math.floor(STAGE_AREA / 2 / row))): Promise<void> {
  let next = 0;
  const reader = async (): Promise<void> => {
    while (next < rows) {
      const r = next, n = Math.min(step, rows - r);
      next += n;
      await read(first + r, n, dst.subarray(r * row, (r + n) * row));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, inFlight) }, reader));
}

/** Read part `p`'s rows (the file's ggml blocks) straight into the two halves of its staging
 * buffer in turn and repack each on the pool while the next one is read. */
async function readStaged(repacker: PoolRepacker, kind: number, p: PackedMatrix, stage: number, read: MatrixRowReader): Promise<void> {
  const row = rowBytes(p.type, p.cols), half = STAGE_AREA / 2;
  const slab = Math.max(1, Math.min(p.rows, Math.floor(half / row)));
  if (slab * row > half) throw new QwenrtError("weights", `a row of ${row} bytes does not fit the ${half}-byte staging buffer`);
  const at = (k: number): number => stage + (k % 2) * half;
  const into = (k: number, r: number): Promise<void> => read(p.first + r, Math.min(slab, p.rows - r), repacker.view(at(k), Math.min(slab, p.rows - r) * row));
  let pending: Promise<void> | undefined = into(0, 0);
  try {
    for (let k = 0, r = 0; r < p.rows; k++, r += slab) {
      await pending;
      pending = r + slab < p.rows ? into(k + 1, r + slab) : undefined;
      repacker.runStaged(kind, p, at(k), Math.min(slab, p.rows - r), r);
    }
  } finally {
    await pending?.catch(() => undefined); // no read may land in a released buffer
  }
}
