/**
 * Backend choice, for the command line (`--accelerator`), pages and scripts: WebGPU when an
 * adapter opens, else the TypeScript reference kernels, with the reason for a fallback so a page
 * can show it (docs/engine.md#backend-choice).
 */
import type { Backend } from "./backend.ts";
import { cpuBackend } from "./cpu/backend.ts";
import { createWebGpuBackend } from "./webgpu/backend.ts";

/**
 * Which backend to open:
 * - `auto`: WebGPU when an adapter is found, else the TypeScript (reference) kernels;
 * - `cpu`: compute on the CPU by the fastest means — a CPU WebGPU adapter (llvmpipe, lavapipe,
 *   SwiftShader) when one exists, else the TypeScript kernels (several times slower);
 * - `reference`: the TypeScript kernels, the tests' oracle (deterministic on every machine);
 * - `webgpu`: WebGPU, or an error when there is no adapter.
 */
export type BackendKind = "auto" | "cpu" | "reference" | "webgpu";

/** An opened backend and, when `auto` fell back to the CPU, why. */
export interface BackendChoice {
  /** The backend to pass to `setBackend`. */
  backend: Backend;
  /** Why `auto` runs on the CPU ("no WebGPU adapter", or the error opening it); null otherwise. */
  fallback: string | null;
}

/**
 * Opens the backend for `kind`. `webgpu` without an adapter throws an Error saying so; `auto`
 * falls back to the CPU and says why in {@link BackendChoice.fallback}.
 */
export async function openBackend(kind: BackendKind = "auto"): Promise<BackendChoice> {
  if (kind === "reference") return { backend: cpuBackend(), fallback: null };
  let why: string;
  try {
    const gpu = await createWebGpuBackend(kind === "cpu");
    if (gpu !== null) return { backend: gpu, fallback: null };
    why = (globalThis.navigator as Navigator | undefined)?.gpu
      ? `WebGPU found no ${kind === "cpu" ? "CPU " : ""}adapter`
      : "this runtime has no WebGPU";
  } catch (e) {
    why = `WebGPU failed to open (${e instanceof Error ? e.message : String(e)})`;
  }
  if (kind === "webgpu") throw new Error(`WebGPU was asked for, but ${why}`);
  return { backend: cpuBackend(), fallback: why };
}
