/**
 * Kernel throughput for one backend: conv2d forward and both backward passes at the generator's
 * widest layer size, and 1024³ matmuls in forward and backward (transposed) layouts.
 * Each figure is the median of several timed runs after one warm-up; every run awaits
 * `backend.read` of its result so backends that execute lazily are timed to completion. On
 * WebGPU each run also times the kernel's commands alone with timestamp queries: the wall time
 * of a 16 MiB readback varies by half from run to run on llvmpipe, the device time by a few %.
 */

import type { Backend, Conv2dGeometry, Storage } from "../engine/backend.ts";
import { WebGpuBackend } from "../engine/webgpu/backend.ts";

/** One measured kernel. */
export interface KernelResult {
  /** Kernel and layout, e.g. "conv2d gradInput". */
  name: string;
  /** The problem size in words. */
  shape: string;
  /** Floating-point operations of one call (a multiply-add counts 2). */
  flops: number;
  /** Median wall time of one call, milliseconds. */
  medianMs: number;
  /** flops / median time, in 10⁹ per second. */
  gflops: number;
  /**
   * WebGPU: median device milliseconds of the call's commands (timestamps around them, operand
   * copies included); null elsewhere or without timestamp queries.
   */
  deviceMs: number | null;
}

/** How many timed runs to take the median of (after one untimed warm-up). */
export interface KernelBenchOptions {
  /** Timed runs per kernel (at least 3; default 3). */
  runs?: number;
}

/** Batch 16, 64 → 64 channels, 64×64 image, 3×3 kernel, "same" padding. */
const CONV: Conv2dGeometry = {
  n: 16,
  c: 64,
  h: 64,
  w: 64,
  o: 64,
  kh: 3,
  kw: 3,
  padTop: 1,
  padLeft: 1,
  outH: 64,
  outW: 64,
};
const MATMUL_SIZE = 1024;

function randomData(size: number, seed: number): Float32Array {
  const out = new Float32Array(size);
  let s = seed >>> 0;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

/** The median of a non-empty list. */
function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
}

/**
 * Median wall time (ms) of `call` over `runs` runs after one warm-up, reading each result, and
 * on WebGPU the median device time of as many more runs (null where there is none).
 */
export async function timeKernel(
  backend: Backend,
  call: () => Storage,
  runs: number,
): Promise<{ wall: number; device: number | null }> {
  const wall: number[] = [];
  const device: number[] = [];
  for (let r = 0; r <= runs; r++) {
    const start = performance.now();
    const out = call();
    await backend.read(out);
    const elapsed = performance.now() - start;
    backend.release(out);
    if (r > 0) wall.push(elapsed);
    if (r > 0 && backend instanceof WebGpuBackend) {
      const ms = await backend.deviceTimeMs(() => backend.release(call()));
      if (ms !== null) device.push(ms);
    }
  }
  return { wall: median(wall), device: device.length ? median(device) : null };
}

/** Time the conv2d and matmul kernels of `backend` and report GFLOP/s for each. */
export async function benchKernels(
  backend: Backend,
  options: KernelBenchOptions = {},
): Promise<KernelResult[]> {
  const runs = Math.max(3, options.runs ?? 3);
  const g = CONV;
  const x = backend.upload(randomData(g.n * g.c * g.h * g.w, 1));
  const w = backend.upload(randomData(g.o * g.c * g.kh * g.kw, 2));
  const dy = backend.upload(randomData(g.n * g.o * g.outH * g.outW, 3));
  const s = MATMUL_SIZE;
  const a = backend.upload(randomData(s * s, 4));
  const b = backend.upload(randomData(s * s, 5));

  const convShape = `n${g.n} ${g.c}→${g.o} ${g.h}×${g.w} ${g.kh}×${g.kw} pad ${g.padTop}`;
  // Every conv pass does one multiply-add per (image, out channel, in channel, tap, out pixel):
  // FLOPs = 2·n·o·c·kh·kw·outH·outW (zero-padding taps counted too).
  const convFlops = 2 * g.n * g.o * g.c * g.kh * g.kw * g.outH * g.outW;
  // A (m×k)·B (k×n) does m·n·k multiply-adds: FLOPs = 2·m·n·k.
  const matmulFlops = 2 * s * s * s;
  const mm = { batchA: 1, batchB: 1, m: s, k: s, n: s };
  const cases: { name: string; shape: string; flops: number; call: () => Storage }[] = [
    {
      name: "conv2d forward",
      shape: convShape,
      flops: convFlops,
      call: () => backend.conv2d(x, w, g),
    },
    {
      name: "conv2d gradInput",
      shape: convShape,
      flops: convFlops,
      call: () => backend.conv2dGradInput(dy, w, g),
    },
    {
      name: "conv2d gradWeight",
      shape: convShape,
      flops: convFlops,
      call: () => backend.conv2dGradWeight(x, dy, g),
    },
    {
      name: "matmul A·B",
      shape: `${s}³`,
      flops: matmulFlops,
      call: () => backend.matmul(a, b, { ...mm, transA: false, transB: false }),
    },
    {
      // dA = dC·Bᵀ, the input gradient of a linear layer.
      name: "matmul A·Bᵀ",
      shape: `${s}³`,
      flops: matmulFlops,
      call: () => backend.matmul(a, b, { ...mm, transA: false, transB: true }),
    },
    {
      // dB = Aᵀ·dC, the weight gradient of a linear layer.
      name: "matmul Aᵀ·B",
      shape: `${s}³`,
      flops: matmulFlops,
      call: () => backend.matmul(a, b, { ...mm, transA: true, transB: false }),
    },
  ];

  const results: KernelResult[] = [];
  for (const c of cases) {
    const t = await timeKernel(backend, c.call, runs);
    results.push({
      name: c.name,
      shape: c.shape,
      flops: c.flops,
      medianMs: t.wall,
      gflops: c.flops / (t.wall * 1e6),
      deviceMs: t.device,
    });
  }
  for (const st of [x, w, dy, a, b]) backend.release(st);
  return results;
}
