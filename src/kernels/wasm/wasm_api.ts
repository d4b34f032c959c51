/**
 * The slice of the WebAssembly JS API this backend uses, typed here because the project's `lib`
 * (ES2023, no DOM) and @types/node 20 do not declare `WebAssembly`. Drop this module for the
 * standard types if the project's `lib` ever gains them.
 */

/** A compiled module (opaque; structured-cloneable to workers). */
export interface WasmModule {
  readonly __wasmModule: unique symbol;
}

/** A (shared) linear memory. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(pages: number): number;
}

/** An exported global. */
export interface WasmGlobal {
  readonly value: number;
}

interface WasmInstance {
  readonly exports: Record<string, unknown>;
}

interface WasmNamespace {
  validate(bytes: Uint8Array): boolean;
  compile(bytes: Uint8Array): Promise<WasmModule>;
  Module: new (bytes: Uint8Array) => WasmModule;
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
  Instance: new (m: WasmModule, imports: Record<string, Record<string, unknown>>) => WasmInstance;
}

/** The runtime's `WebAssembly` object. */
export const wasmApi: WasmNamespace = (globalThis as unknown as { WebAssembly: WasmNamespace }).WebAssembly;
