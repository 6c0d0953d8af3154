/**
 * Backend choice without a command line, for pages and scripts: WebGPU when an adapter opens,
 * else the CPU reference backend, with the reason for the fallback so a page can show it.
 */
import type { Backend } from "./backend.ts";
import { cpuBackend } from "./cpu/backend.ts";
import { createWebGpuBackend } from "./webgpu/backend.ts";

/** Which backend to open: `auto` = WebGPU when an adapter is found, else CPU. */
export type BackendKind = "auto" | "cpu" | "webgpu";

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
  if (kind === "cpu") return { backend: cpuBackend(), fallback: null };
  let why: string;
  try {
    const gpu = await createWebGpuBackend();
    if (gpu !== null) return { backend: gpu, fallback: null };
    why = (globalThis.navigator as Navigator | undefined)?.gpu
      ? "WebGPU found no adapter"
      : "this runtime has no WebGPU";
  } catch (e) {
    why = `WebGPU failed to open (${e instanceof Error ? e.message : String(e)})`;
  }
  if (kind === "webgpu") throw new Error(`WebGPU was asked for, but ${why}`);
  return { backend: cpuBackend(), fallback: why };
}
