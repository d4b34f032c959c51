/**
 * How much memory the machine has, for the memory preflight (models/preflight.ts). The preflight
 * itself is pure and takes a probe; this is the Node one (a browser would read
 * `navigator.deviceMemory`).
 */
import { freemem, totalmem } from "node:os";

/** The machine's memory in bytes: installed (or the container's limit) and available now. */
export interface MachineMemory {
  readonly total: number;
  readonly available: number;
}

/** Reads the machine's memory when called. */
export type MemoryProbe = () => MachineMemory;

/**
 * Node's view: `os.totalmem()` capped by a cgroup limit (`process.constrainedMemory`), and
 * `process.availableMemory()` (Node ≥ 20.13: free memory within that limit) or else `os.freemem()`
 * (MemAvailable on Linux: free plus reclaimable cache).
 *
 * @example
 * nodeMemoryProbe().available; // 20_167_327_880
 */
export const nodeMemoryProbe: MemoryProbe = () => {
  // Both exist on Node ≥ 20.13 (and are typed so); the `typeof` checks keep older 20.x working.
  const limit = typeof process.constrainedMemory === "function" ? process.constrainedMemory() : 0;
  const total = limit > 0 && limit < totalmem() ? limit : totalmem();
  const available = Math.min(total, typeof process.availableMemory === "function" ? process.availableMemory() : freemem());
  return { total, available };
};
