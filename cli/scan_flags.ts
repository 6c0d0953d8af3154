/**
 * The flags that say how to read a beamline scan (CXI/HDF5), shared by the commands that load
 * scans: where the probe comes from, what CXI's `translation` means, whether to fftshift, the crop,
 * how to read the mask and which entry to read.
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
  {
    name: "cxi_mask",
    type: "choice",
    choices: ["cxi", "good", "ignore"],
    default: "cxi",
    help: "how to read a CXI detector mask: cxi = pixel unused where its bad-pixel bits " +
      "(mask & 0x2FF) are set, good = nonzero marks good pixels, ignore = no mask",
  },
  {
    name: "cxi_entry",
    type: "string",
    help: "the CXI entry to read (default entry_1, else the lowest-numbered entry)",
  },
];

/** The scan-reading options the flags give. */
export function scanOptionsFromFlags(
  flags: ParsedFlags,
): Pick<LoadScanOptions, "probeFile" | "translation" | "fftshift" | "crop" | "mask" | "entry"> {
  return {
    probeFile: flags.probe_file as string | undefined,
    translation: flags.cxi_translation as "sample" | "beam",
    fftshift: flags.cxi_fftshift as "auto" | "yes" | "no",
    crop: flags.cxi_crop as number | undefined,
    mask: flags.cxi_mask as "cxi" | "good" | "ignore",
    entry: flags.cxi_entry as string | undefined,
  };
}
