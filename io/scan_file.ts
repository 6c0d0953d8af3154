/**
 * The one entry point for scan files: `.npz`, our contract as HDF5 (`.h5`: the `.npz` key names
 * as datasets at the root) and CXI, told apart by content, never by extension: a zip archive
 * starts with `PK\x03\x04`, an HDF5 file has its signature at offset 0, 512, 1024, ...
 * A probe may come from a separate file (`--probe_file`: `.npy`, `.npz` or HDF5/CXI).
 */
import {
  type ArraySource,
  type LoadDatasetOptions,
  type PtychoDataset,
  readDataset,
} from "./dataset.ts";
import { PtychoInputError } from "./errors.ts";
import { readFileOrFail } from "./files.ts";
import { kindOfFile } from "./file_kind.ts";
import { decodeNpy, type NpyArray } from "./npy.ts";
import { NpzReader } from "./npz.ts";
import { asComplexPairs, type CxiOptions } from "./cxi.ts";
import type { Hdf5Reader } from "./hdf5.ts";
import { isRealFloat } from "./npy_convert.ts";

/** How to read a scan file of any supported format. */
export interface LoadScanOptions extends LoadDatasetOptions, CxiOptions {
  /** A probe to use instead of the file's (`.npy`, `.npz` with `probeGuess`, or HDF5/CXI). */
  probeFile?: string;
}

/** Loads and validates a scan (`.npz`, contract `.h5` or CXI) by its content. */
export async function loadScan(
  path: string,
  options: LoadScanOptions = {},
): Promise<PtychoDataset> {
  const kind = kindOfFile(path);
  const probe = options.probeFile === undefined ? null : await loadProbeFile(options.probeFile);
  if (kind === "zip") {
    const npz = NpzReader.open(path);
    try {
      const dataset = readWithProbe(npz, probe, options);
      if (probe !== null) {
        dataset.source = { format: "npz", conversions: { probe: options.probeFile } };
      }
      return dataset;
    } finally {
      npz.close();
    }
  }
  if (kind !== "hdf5") {
    throw new PtychoInputError(path, "neither a .npz (zip) nor an HDF5/CXI file, by its content");
  }
  const { Hdf5Reader } = await import("./hdf5.ts");
  const { readCxi } = await import("./cxi.ts");
  const h5 = await Hdf5Reader.open(path);
  try {
    if (h5.has("diffraction") || h5.has("diff3d")) {
      const dataset = readWithProbe(contractSource(h5), probe, options);
      const conversions: Record<string, unknown> = {
        layout: "the .npz keys as root datasets",
        data_dtype: h5.dtypeOf(h5.has("diffraction") ? "diffraction" : "diff3d"),
      };
      if (probe !== null) conversions.probe = options.probeFile;
      dataset.source = { format: "hdf5", conversions };
      return dataset;
    }
    const scan = readCxi(h5, { ...options, probe: probe === null });
    if (probe !== null) scan.conversions.probe = options.probeFile;
    else if (!scan.arrays.has("probeGuess")) {
      throw new PtychoInputError(
        path,
        "no probe at 'entry_1/instrument_1/source_1/illumination' (nor the other CXI probe " +
          "paths); give one with --probe_file (.npy, .npz or .cxi)",
      );
    }
    const metadata = JSON.stringify({ nphotons: scan.nphotons, source: "cxi" });
    scan.arrays.set("_metadata", { dtype: "U", shape: [], data: [metadata] });
    const arrays: ArraySource = {
      file: path,
      has: (key) => scan.arrays.has(key),
      get: (key) => scan.arrays.get(key)!,
    };
    const dataset = readWithProbe(arrays, probe, options);
    dataset.source = { format: "cxi", conversions: scan.conversions };
    return dataset;
  } finally {
    h5.close();
  }
}

/**
 * The contract's keys in an HDF5 file: complex arrays (`probeGuess`, `objectGuess`) also as float
 * (..., 2) = (re, im) or as two real datasets `KEY_real` and `KEY_imag`.
 */
function contractSource(h5: Hdf5Reader): ArraySource {
  const parts = (key: string) => [`${key}_real`, `${key}_imag`];
  const split = (key: string) => !h5.has(key) && parts(key).every((k) => h5.has(k));
  return {
    file: h5.file,
    has: (key) => h5.has(key) || split(key),
    get: (key) => {
      if (!split(key)) return COMPLEX_KEYS.has(key) ? asComplexPairs(h5.get(key)) : h5.get(key);
      const [re, im] = parts(key).map((k) => h5.get(k));
      if (re.shape.join() !== im.shape.join() || !isRealFloat(re) || !isRealFloat(im)) {
        throw new PtychoInputError(
          h5.file,
          `'${key}_real' (${re.dtype} (${re.shape})) and '${key}_imag' (${im.dtype} ` +
            `(${im.shape})) must be real floats of one shape`,
        );
      }
      const out = new Float64Array(2 * re.data.length);
      for (let i = 0; i < re.data.length; i++) {
        out[2 * i] = re.data[i] as number;
        out[2 * i + 1] = im.data[i] as number;
      }
      return { dtype: "c16", shape: re.shape, data: out };
    },
  };
}

/** The contract's complex keys. */
const COMPLEX_KEYS = new Set(["probeGuess", "objectGuess"]);

/**
 * Validates `source` with its probe replaced by `probe` (when given); a probe that does not fit
 * the patterns is reported against the probe file, not the scan.
 */
function readWithProbe(
  source: ArraySource,
  probe: NpyArray | null,
  options: LoadScanOptions,
): PtychoDataset {
  try {
    return readDataset(withProbe(source, probe), options);
  } catch (e) {
    const prefix = "key 'probeGuess': ";
    if (probe === null || !(e instanceof PtychoInputError) || !e.problem.startsWith(prefix)) {
      throw e;
    }
    throw new PtychoInputError(
      options.probeFile!,
      `${e.problem.slice(prefix.length)} (the probe for ${source.file})`,
    );
  }
}

/** `source` with its `probeGuess` replaced by `probe` (when given). */
function withProbe(source: ArraySource, probe: NpyArray | null): ArraySource {
  if (probe === null) return source;
  return {
    file: source.file,
    has: (key) => key === "probeGuess" || source.has(key),
    get: (key) => key === "probeGuess" ? probe : source.get(key),
  };
}

/** Reads a probe file: `.npy`, `.npz` (`probeGuess`) or HDF5 (`probeGuess` or a CXI probe). */
export async function loadProbeFile(path: string): Promise<NpyArray> {
  const kind = kindOfFile(path);
  if (kind === "npy") return decodeNpy(readFileOrFail(path), path);
  if (kind === "zip") {
    const npz = NpzReader.open(path);
    try {
      return npz.get("probeGuess");
    } finally {
      npz.close();
    }
  }
  if (kind !== "hdf5") {
    throw new PtychoInputError(path, "a probe file must be .npy, .npz or HDF5/CXI (by content)");
  }
  const { Hdf5Reader } = await import("./hdf5.ts");
  const { CXI_PROBE_PATHS } = await import("./cxi.ts");
  const h5 = await Hdf5Reader.open(path);
  try {
    const where = h5.first(["probeGuess", ...CXI_PROBE_PATHS]);
    if (where === null) {
      throw new PtychoInputError(
        path,
        `no probe dataset ('probeGuess' or '${CXI_PROBE_PATHS[0]}')`,
      );
    }
    const a = asComplexPairs(h5.get(where));
    return a.shape.length === 3 ? { ...a, shape: a.shape.slice(1), data: firstMode(a) } : a;
  } finally {
    h5.close();
  }
}

function firstMode(a: NpyArray): NpyArray["data"] {
  const lanes = a.dtype === "c8" || a.dtype === "c16" ? 2 : 1;
  const size = lanes * a.shape[1] * a.shape[2];
  return (a.data as Float32Array).subarray(0, size);
}
