/** The `--accelerator` flag and backend choice for `--accelerator auto|cpu|webgpu` (DESIGN.md "Backend choice"). */
import { type Backend, cpuBackend } from "../engine/mod.ts";
import { createWebGpuBackend } from "../engine/webgpu/backend.ts";
import { PtychoInputError } from "../io/errors.ts";
import type { FlagSpec, ParsedFlags } from "./args.ts";

/** Accelerator choice (gpu, cuda and mps are aliases of webgpu). */
export type AcceleratorKind = "auto" | "cpu" | "webgpu";

/** `--accelerator`, the same in train, infer and demo. */
export const ACCELERATOR_FLAG: FlagSpec = {
  name: "accelerator",
  type: "choice",
  default: "auto",
  choices: ["auto", "cpu", "webgpu"],
  aliases: { gpu: "webgpu", cuda: "webgpu", mps: "webgpu" },
  help: "compute backend: auto = WebGPU when an adapter is found, else CPU (gpu/cuda/mps = webgpu)",
};

/**
 * The accelerator a command's flags ask for: `--accelerator`, or with it left at auto the
 * upstream `--device cpu|cuda` spelling.
 */
export function acceleratorFromFlags(flags: ParsedFlags): AcceleratorKind {
  const kind = flags.accelerator as AcceleratorKind;
  if (kind === "auto" && flags.device !== undefined) {
    return flags.device === "cpu" ? "cpu" : "webgpu";
  }
  return kind;
}

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
