/** The WebGPU kernel backend (see `backend.ts`); `nodeGpu` gives Node its WebGPU entry point. */
export { createWebGpuBackend, type WebGpuBackend, type WebGpuOptions } from "./backend.js";
export { nodeGpu } from "./node.js";
