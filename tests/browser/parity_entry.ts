/**
 * Browser bundle entry: the WebGPU-vs-CPU tests of tests/engine/ (ops, linear algebra, signal,
 * autograd, far field, patches and the fused physics and network ops) on the page's WebGPU
 * implementation, and a WGSL compile of every kernel.
 * `globalThis.ptychoTests.run()` and `.compileAll()` report to the test driver.
 */
import { collected } from "./deno_shim.ts";
import "../engine/webgpu_parity_test.ts";
import "../engine/webgpu_linalg_test.ts";
import "../engine/webgpu_signal_test.ts";
import "../engine/webgpu_autograd_test.ts";
import "../engine/webgpu_farfield_test.ts";
import "../engine/webgpu_patches_test.ts";
import "../engine/complex_fused_test.ts";
import "../engine/heads_test.ts";
import "../engine/mean_test.ts";
import "../engine/merge_test.ts";
import "../engine/overlap_test.ts";
import "../engine/poisson_terms_test.ts";
import "../engine/poisson_test.ts";
import "../engine/scale_test.ts";
import "../engine/split_test.ts";
import { allKernels } from "../shaders/all_kernels.ts";

/** One test's outcome. */
interface Outcome {
  name: string;
  ok: boolean;
  error: string | null;
  ms: number;
}

/** Runs every collected test whose name contains none of `skip`. */
async function run(skip: string[]): Promise<Outcome[]> {
  const out: Outcome[] = [];
  for (const t of collected.filter((t) => !skip.some((s) => t.name.includes(s)))) {
    const t0 = performance.now();
    let error: string | null = t.ignore ? "skipped: no WebGPU adapter" : null;
    if (!t.ignore) {
      try {
        await t.fn();
      } catch (e) {
        error = e instanceof Error ? e.message : String(e);
      }
    }
    out.push({ name: t.name, ok: error === null, error, ms: performance.now() - t0 });
  }
  return out;
}

/** An infinite constant expression, which WGSL forbids (what the unary kernels once had). */
const CONST_INF = `@group(0) @binding(0) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(1) fn main() { y[0] = bitcast<f32>(0x7f800000u); }`;

/**
 * Compiles every kernel's WGSL on the adapter; returns the errors, one line per kernel, and
 * whether the compiler rejects {@link CONST_INF} (so a clean result means something).
 */
async function compileAll(): Promise<
  { kernels: number; errors: string[]; adapter: string; rejectsConstInf: boolean }
> {
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error("no WebGPU adapter");
  const device = await adapter.requestDevice();
  const errors: string[] = [];
  const kernels = allKernels();
  for (const k of kernels) {
    const module = device.createShaderModule({ code: k.wgsl() });
    const info = await module.getCompilationInfo();
    for (const m of info.messages) {
      if (m.type === "error") errors.push(`${k.key}:${m.lineNum}:${m.linePos}: ${m.message}`);
    }
  }
  const probe = await device.createShaderModule({ code: CONST_INF }).getCompilationInfo();
  const rejectsConstInf = probe.messages.some((m) => m.type === "error");
  const { vendor, architecture } = adapter.info;
  device.destroy();
  return { kernels: kernels.length, errors, adapter: `${vendor} ${architecture}`, rejectsConstInf };
}

(globalThis as unknown as { ptychoTests: unknown }).ptychoTests = { run, compileAll };
