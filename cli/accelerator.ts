/**
 * The `--accelerator` flag and backend choice for `--accelerator auto|cpu|reference|webgpu`
 * (docs/engine.md "Backend choice").
 */
import type { Backend } from "../engine/mod.ts";
import { type BackendKind, openBackend } from "../engine/backend_choice.ts";
import { PtychoInputError } from "../io/errors.ts";
import type { FlagSpec, ParsedFlags } from "./args.ts";

/** Accelerator choice (gpu, cuda and mps are aliases of webgpu). */
export type AcceleratorKind = BackendKind;

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
 * The backend for `kind` (see {@link BackendKind}); WebGPU asked for and missing is a
 * {@link PtychoInputError} (one line, exit 2).
 */
export async function chooseBackend(kind: AcceleratorKind): Promise<Backend> {
  try {
    return (await openBackend(kind)).backend;
  } catch {
    throw new PtychoInputError(
      "--accelerator webgpu",
      "no WebGPU adapter is available on this machine; use --accelerator cpu or auto",
    );
  }
}
