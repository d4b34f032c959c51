#!/bin/bash
# Issue 14's speed proof, in one run on a machine with an NVIDIA GPU (the `device` tool's H100/H200):
# qwenrt's webgpu backend beside llama.cpp's GPU build (node-llama-cpp prebuilt, all layers offloaded)
# on the same synthesized GGUFs, decode judged against the GPU's specified memory bandwidth.
#
#   bash bench/gpu.sh [GBPS]          GBPS: the GPU's memory bandwidth (H100 SXM 3350, H100 PCIe 2000,
#                                      H200 4800; default: looked up from nvidia-smi's name)
# Needs there: Node >= 20, this checkout's node_modules (the `webgpu` package, node-llama-cpp with its
# CUDA/Vulkan prebuilt binaries), the Vulkan loader and NVIDIA's ICD (see .library/device notes).
# Writes the reports to $OUT (or ./gpu-bench) as JSON and text.
set -uo pipefail
out=${OUT:-gpu-bench}
mkdir -p "$out"
command -v node > /dev/null || { echo "gpu.sh: no node on this machine"; exit 2; }
[ -d node_modules/webgpu ] || { echo "gpu.sh: node_modules/webgpu is missing (npm ci first)"; exit 2; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
(vulkaninfo --summary 2>&1 || echo "vulkaninfo: not found") | head -40 >> "$out/gpu.txt"
name=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)
case "${1:-$name}" in
  *H200*) bw=4800 ;; *H100*PCIe*) bw=2000 ;; *H100*) bw=3350 ;; [0-9]*) bw=$1 ;;
  *) echo "gpu.sh: unknown GPU \"$name\": give its bandwidth in GB/s"; exit 2 ;;
esac
node scripts/build-wasm.mjs
for preset in qwen3-0.6b qwen3-8b qwen3-30b-a3b; do
  echo "== $preset (roofline $bw GB/s)" | tee -a "$out/bench.txt"
  timeout 900 node --import tsx bench/run.ts --preset "$preset" --types q4_k_m,q8_0 --backend webgpu \
    --llama-gpu auto --roofline-gbs "$bw" --threads 8 --pp 512 --tg 128 --trials 3 2>&1 | tee -a "$out/bench.txt"
done
