/**
 * The `--accelerator` flag and backend choice for `--accelerator auto|cpu|reference|webgpu`
 * (docs/engine.md "Backend choice").
 */
import { type Backend, cpuBackend } from "../engine/mod.ts";
import { createWebGpuBackend } from "../engine/webgpu/backend.ts";
import { PtychoInputError } from "../io/errors.ts";
import type { FlagSpec, ParsedFlags } from "./args.ts";

/** Accelerator choice (gpu, cuda and mps are aliases of webgpu). */
export type AcceleratorKind = "auto" | "cpu" | "reference" | "webgpu";

/** `--accelerator`, the same in train, infer and demo. */
export const ACCELERATOR_FLAG: FlagSpec = {
  name: "accelerator",
  type: "choice",
  default: "auto",
  choices: ["auto", "cpu", "reference", "webgpu"],
  aliases: { gpu: "webgpu", cuda: "webgpu", mps: "webgpu" },
  help: "compute backend: auto = WebGPU when an adapter is found, else the TypeScript kernels; " +
    "cpu = on the CPU by the fastest means (a CPU WebGPU adapter such as llvmpipe when there is " +
    "one, else the TypeScript kernels); reference = the TypeScript kernels; webgpu (gpu/cuda/mps)",
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

/**
 * Opens WebGPU (with `cpuOnly`, only a CPU adapter), or returns null when there is no such
 * adapter (or opening it fails).
 */
async function tryWebGpu(cpuOnly: boolean): Promise<Backend | null> {
  try {
    return await createWebGpuBackend(cpuOnly);
  } catch {
    return null;
  }
}

/**
 * The backend for `kind`:
 * - auto: WebGPU when an adapter is found, else the TypeScript (reference) kernels;
 * - cpu: a CPU WebGPU adapter (llvmpipe, lavapipe, SwiftShader) when one exists, else the
 *   TypeScript kernels — on the development machines llvmpipe trains the full model several
 *   times faster than the TypeScript kernels (README "Performance");
 * - reference: the TypeScript kernels, the tests' oracle (deterministic on every machine);
 * - webgpu: WebGPU, or a {@link PtychoInputError} (one line, exit 2) when there is no adapter.
 */
export async function chooseBackend(kind: AcceleratorKind): Promise<Backend> {
  if (kind === "reference") return cpuBackend();
  const gpu = await tryWebGpu(kind === "cpu");
  if (gpu !== null) return gpu;
  if (kind === "webgpu") {
    throw new PtychoInputError(
      "--accelerator webgpu",
      "no WebGPU adapter is available on this machine; use --accelerator cpu or auto",
    );
  }
  return cpuBackend();
}
