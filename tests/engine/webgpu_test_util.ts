/**
 * Shared setup of the WebGPU tests: one backend per test process, the CPU reference, and a
 * `gpuTest` wrapper that skips (with a message) when there is no adapter, or fails when
 * PTYCHO_REQUIRE_WEBGPU=1.
 */
import type { Backend, Storage } from "../../engine/backend.ts";
import { cpuBackend } from "../../engine/cpu/backend.ts";
import { createWebGpuBackend, type WebGpuBackend } from "../../engine/webgpu/backend.ts";
import { randomArray, rng } from "./cpu_test_util.ts";

const required = Deno.env.get("PTYCHO_REQUIRE_WEBGPU") === "1";
const gpu: WebGpuBackend | null = await createWebGpuBackend();
if (!gpu && !required) {
  console.log("no WebGPU adapter: WebGPU tests skipped (set PTYCHO_REQUIRE_WEBGPU=1 to fail)");
}

/**
 * WGSL's stated precision for cos and sin: absolute error at most 2^-11 (on [-π, π]; outside it
 * after range reduction). Dawn's SwiftShader is about 5e-5 off the CPU; wgpu on llvmpipe much
 * closer. Kernels built on them are held to it, scaled by the factors that multiply them.
 */
export const TRIG_ATOL = 2 ** -11;

/** The CPU reference backend. */
export const cpu: Backend = cpuBackend();

/** Register a test that runs on the WebGPU backend (skipped without an adapter, see above). */
export function gpuTest(name: string, fn: (gpu: WebGpuBackend) => Promise<void>): void {
  Deno.test({
    name: `webgpu: ${name}`,
    ignore: !gpu && !required,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      if (!gpu) throw new Error("PTYCHO_REQUIRE_WEBGPU=1 but no WebGPU adapter was found");
      await fn(gpu);
    },
  });
}

/** A seeded source of random inputs uploaded to both backends. */
export class Inputs {
  private rand: () => number;
  constructor(seed: number) {
    this.rand = rng(seed);
  }
  /** `n` values uniform on [lo, hi). */
  values(n: number, lo = -1, hi = 1): Float32Array {
    return randomArray(this.rand, n, lo, hi);
  }
  /** `n` values uniform on [lo, hi) as (gpu, cpu) storages. */
  pair(g: Backend, n: number, lo = -1, hi = 1): [Storage, Storage, Float32Array] {
    const data = this.values(n, lo, hi);
    return [g.upload(data), cpu.upload(data), data];
  }
  /** A random integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.rand() * (hi - lo + 1));
  }
}

/**
 * Read both storages and require |gpu − cpu| <= atol + rtol·|cpu| + scaleTol·max|cpu| at every
 * element; `scaleTol` is for sums whose rounding error scales with the magnitude of the whole
 * output rather than of each element.
 */
export async function expectClose(
  g: Backend,
  gs: Storage,
  cs: Storage,
  what: string,
  tol: { atol?: number; rtol?: number; scaleTol?: number } = {},
): Promise<void> {
  const actual = await g.read(gs);
  const expected = await cpu.read(cs);
  g.release(gs);
  cpu.release(cs);
  if (actual.length !== expected.length) {
    throw new Error(`${what}: length ${actual.length}, expected ${expected.length}`);
  }
  let scale = 0;
  for (const e of expected) scale = Math.max(scale, Math.abs(e));
  const { atol = 1e-6, rtol = 1e-5, scaleTol = 0 } = tol;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i], e = expected[i];
    const ok = a === e || (Number.isNaN(e) ? Number.isNaN(a) : Math.abs(a - e) <=
      atol + rtol * Math.abs(e) + scaleTol * scale);
    if (!ok) throw new Error(`${what}: at ${i} got ${a}, expected ${e}`);
  }
}
