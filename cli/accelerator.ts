/** Backend choice for `--accelerator auto|cpu|webgpu` (DESIGN.md "Backend choice"). */
import { type Backend, cpuBackend } from "../engine/mod.ts";
import { createWebGpuBackend } from "../engine/webgpu/backend.ts";
import { PtychoInputError } from "../io/errors.ts";
import type { AcceleratorKind } from "./train_flags.ts";

/** Opens WebGPU, or returns null when there is no adapter (or opening it fails). */
async function tryWebGpu(): Promise<Backend | null> {
  try {
    return await createWebGpuBackend();
  } catch {
    return null;
  }
}

/**
 * The backend for `kind`: auto = WebGPU when an adapter is found, else CPU. WebGPU requested
 * but missing is a {@link PtychoInputError} (one line, exit 2).
 */
export async function chooseBackend(kind: AcceleratorKind): Promise<Backend> {
  if (kind === "cpu") return cpuBackend();
  const gpu = await tryWebGpu();
  if (gpu !== null) return gpu;
  if (kind === "webgpu") {
    throw new PtychoInputError(
      "--accelerator webgpu",
      "no WebGPU adapter is available on this machine; use --accelerator cpu or auto",
    );
  }
  return cpuBackend();
}
