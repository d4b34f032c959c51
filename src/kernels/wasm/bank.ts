/**
 * Memory banks. wasm32 addresses 4 GiB, so the backend's memory is several shared wasm32 memories
 * ("banks"), each with its own instance of the kernel module on every thread (no flags, no memory64,
 * nothing Node-only). The home bank holds activations, norm weights, biases and the pool's control
 * block; weights fill the home bank and then further banks, next-fit, up to a budget per bank (a
 * matrix larger than a bank is split by rows); KV caches live in banks of their own. A kernel runs on
 * the bank that holds its weights or cache and takes its inputs from there: a tensor of another bank
 * is staged in (and its output staged out) by that bank's `Staging`. The budget counts weights and
 * caches only; staging scratch and activations use what is left of each bank's 4 GiB.
 */
import { QwenrtError } from "../../util/errors.js";
import { MatmulDispatch } from "./dispatch.js";
import { KernelJobs } from "./jobs.js";
import { MoeJobs } from "./moe_jobs.js";
import { MAX_PAGES, WasmHeap } from "./memory.js";
import type { JobRunner, Pool } from "./pool.js";
import { JOB, instantiateKernels, type KernelExports, type KernelIds, type KernelModule } from "./protocol.js";
import { PoolRepacker } from "./repack_pool.js";
import { Staging } from "./staging.js";
import { wasmApi } from "./wasm_api.js";

/** What a bank holds: `home` (activations and the first weights), `weights`, or `kv` (KV caches). */
export type BankRole = "home" | "weights" | "kv";

/** Default budget of weights (or KV caches) per bank: 3 GiB, leaving a quarter of each wasm32
 * memory for staging scratch (a prefill chunk's activations and logits). */
export const DEFAULT_BANK_BYTES = 3 * 2 ** 30;

/** One wasm memory with its kernels, allocator, staging scratch and job wiring. */
export class Bank {
  readonly staging: Staging;
  readonly dispatch: MatmulDispatch;
  readonly jobs: KernelJobs;
  readonly moe: MoeJobs;
  /** The load-time repack of weights into this bank. */
  readonly repacker: PoolRepacker;
  /** Bytes of weights or KV caches placed here (what the budget counts). */
  placed = 0;

  constructor(
    readonly index: number,
    readonly role: BankRole,
    readonly heap: WasmHeap,
    readonly kernels: KernelExports,
    runner: JobRunner,
    ids: KernelIds,
    relaxed: boolean,
  ) {
    this.staging = new Staging(heap);
    this.dispatch = new MatmulDispatch(kernels, ids, runner, this.staging, relaxed);
    this.jobs = new KernelJobs(kernels, ids, runner, this.staging);
    this.moe = new MoeJobs(kernels, ids, runner, this.staging, relaxed);
    this.repacker = new PoolRepacker(runner, kernels, heap);
  }
}

/** Rows `first .. first + rows - 1` of a matrix, placed in `bank`. */
export interface RowPart {
  readonly bank: Bank;
  readonly first: number;
  readonly rows: number;
}

/** The banks of one backend and where weights and caches go. */
export class Banks {
  readonly all: Bank[] = [];
  private current: Bank; // where weights are placed now (next-fit)
  private pendingKv: { bank: Bank; bytes: number } | undefined; // the partner of the last cache buffer

  /** `home`: the home bank's heap and main-thread kernels, its job block being the pool's control
   * block; `budget`: bytes of weights or caches per bank. */
  constructor(
    private readonly module: KernelModule,
    private readonly pool: Pool,
    private readonly ids: KernelIds,
    private readonly relaxed: boolean,
    readonly budget: number,
    home: { heap: WasmHeap; kernels: KernelExports },
  ) {
    const b = new Bank(0, "home", home.heap, home.kernels, pool.runner(0), ids, relaxed);
    this.all.push(b);
    this.current = b;
  }

  get home(): Bank {
    return this.all[0]!;
  }

  /** The bank whose memory `view` lies in, if any. */
  bankOf(view: ArrayBufferView): Bank | undefined {
    for (const b of this.all) if (b.heap.owns(view)) return b;
    return undefined;
  }

  /**
   * Place a matrix of `rows` rows of `rowBytes` bytes: in the current weight bank if it fits, else
   * in a new bank if it fits one, else split into runs of whole `granule`-row groups that fill the
   * current bank and then new ones. Counts the bytes as placed; the caller allocates them.
   */
  placeRows(rows: number, rowBytes: number, granule: number): RowPart[] {
    const total = rows * rowBytes;
    if (total <= this.budget - this.current.placed) return [this.put(this.current, 0, rows, rowBytes)];
    if (total <= this.budget) return [this.put(this.create("weights"), 0, rows, rowBytes)];
    const parts: RowPart[] = [];
    for (let first = 0; first < rows; ) {
      const room = this.budget - this.current.placed;
      let n = Math.floor(room / (granule * rowBytes)) * granule;
      if (n <= 0 && this.current.placed === 0) n = granule; // a bank smaller than one group still takes one
      if (n <= 0) {
        this.current = this.create("weights");
        continue;
      }
      n = Math.min(n, rows - first);
      parts.push(this.put(this.current, first, n, rowBytes));
      first += n;
    }
    return parts;
  }

  /** A bank for a KV cache buffer of `bytes`: the one its partner (the previous buffer, of the same
   * size: keys then values of one layer) went to, so attention finds both in one memory; else the
   * first cache bank with room for this buffer and its partner; else a new one. */
  kvBank(bytes: number): Bank {
    const p = this.pendingKv;
    this.pendingKv = undefined;
    let bank = p !== undefined && p.bytes === bytes ? p.bank : undefined;
    if (bank === undefined) {
      bank = this.all.find((b) => b.role === "kv" && b.placed + 2 * bytes <= this.budget) ?? this.create("kv");
      this.pendingKv = { bank, bytes };
    }
    bank.placed += bytes;
    return bank;
  }

  /** A cache buffer of `bytes` in `bank` was freed. */
  kvFreed(bank: Bank, bytes: number): void {
    bank.placed -= bytes;
  }

  private put(bank: Bank, first: number, rows: number, rowBytes: number): RowPart {
    bank.placed += rows * rowBytes;
    if (bank.role !== "kv") this.current = bank;
    return { bank, first, rows };
  }

  /** A new bank: a shared wasm32 memory, the main thread's kernel instance on it (the workers get
   * theirs through the pool), its allocator and job block. */
  private create(role: BankRole): Bank {
    let memory;
    try {
      memory = new wasmApi.Memory({ initial: 1, maximum: MAX_PAGES, shared: true });
    } catch (e) {
      throw new QwenrtError("wasm backend", `could not create memory bank ${this.all.length} (${this.all.length} banks of up to 4 GiB exist)`, { code: "out_of_memory", cause: e });
    }
    const kernels = instantiateKernels(this.module, memory);
    const heap = new WasmHeap(memory, kernels.heapBase());
    const job = heap.alloc(JOB.bytes, 64);
    const index = this.pool.addBank(memory, kernels, job);
    const b = new Bank(index, role, heap, kernels, this.pool.runner(index), this.ids, this.relaxed);
    this.all.push(b);
    return b;
  }
}

/** One bank as `WasmBackend.banks` reports it. */
export interface BankInfo {
  readonly index: number;
  readonly role: BankRole;
  /** Bytes of weights or KV caches placed in it. */
  readonly placed: number;
  /** Its allocator's high-water mark (the memory it has to hold). */
  readonly end: number;
  /** Threads with an instance of the kernels on it (all, once each worker has met one of its jobs). */
  readonly threads: number;
}

/** Where one part of a matrix lives. */
export interface MatrixPlacement {
  readonly bank: number;
  readonly first: number;
  readonly rows: number;
}
