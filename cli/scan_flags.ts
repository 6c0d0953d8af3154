/**
 * The flags that say how to read a beamline scan (CXI/HDF5), shared by the commands that load
 * scans: where the probe comes from, what CXI's `translation` means, and whether to fftshift.
 */
import type { FlagSpec, ParsedFlags } from "./args.ts";
import type { LoadScanOptions } from "../io/scan_file.ts";

/** The scan-reading flags. */
export const SCAN_FLAGS: readonly FlagSpec[] = [
  {
    name: "probe_file",
    type: "string",
    help: "probe to use instead of the scan's (.npy, .npz with probeGuess, or .cxi/.h5)",
  },
  {
    name: "cxi_translation",
    type: "choice",
    choices: ["sample", "beam"],
    default: "sample",
    help: "what a CXI file's translation holds: the sample's position (CXI; beam = −translation) " +
      "or the beam's",
  },
  {
    name: "cxi_fftshift",
    type: "choice",
    choices: ["auto", "yes", "no"],
    default: "auto",
    help: "fftshift CXI patterns: auto = when the mean pattern is brighter in the corners than " +
      "in the centre",
  },
  {
    name: "cxi_crop",
    type: "int",
    help: "keep the central N×N pixels of larger CXI detector frames (the object pixel grows " +
      "to λz/(N·p))",
  },
];

/** The scan-reading options the flags give. */
export function scanOptionsFromFlags(
  flags: ParsedFlags,
): Pick<LoadScanOptions, "probeFile" | "translation" | "fftshift" | "crop"> {
  return {
    probeFile: flags.probe_file as string | undefined,
    translation: flags.cxi_translation as "sample" | "beam",
    fftshift: flags.cxi_fftshift as "auto" | "yes" | "no",
    crop: flags.cxi_crop as number | undefined,
  };
}
