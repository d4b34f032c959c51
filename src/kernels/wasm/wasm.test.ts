// The shared kernel case suite against ref, for the wasm backend threaded (relaxed SIMD where the
// runtime has it) and single-threaded with plain SIMD.
import { kernelCases } from "../cases.js";
import { createWasmBackend } from "./index.js";

const threaded = await createWasmBackend({ threads: 2 });
const single = await createWasmBackend({ threads: 1, relaxed: false, kv: "f32" }); // `threaded` has the default f16 cache
kernelCases(`${threaded.name} threads=2`, () => threaded);
kernelCases(`${single.name} threads=1`, () => single);
