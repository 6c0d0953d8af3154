/**
 * CXI files (Coherent X-ray Imaging, HDF5-based, as PtyPy, PyNX and beamlines write them) turned
 * into the dataset contract (docs/physics.md#data-contract). Every conversion is listed in the
 * returned `conversions`, which the commands record in their outputs:
 *
 * - the entry: `entry_1` when present, else the lowest-numbered `entry_K` (or `entry`); with
 *   several, a warning names the one read (`entry` option to choose);
 * - amplitudes from `ENTRY/data_1/data` (or `ENTRY/instrument_1/detector_1/data`) with the mask
 *   `ENTRY/instrument_1/detector_1/mask`: layout, crop, fftshift, mask and bad counts as
 *   io/cxi_frames.ts says;
 * - the object pixel Δ = λ·z / (N·p) from distance, pixel size and energy or wavelength, in the
 *   units io/cxi_units.ts reads;
 * - positions in object pixels: x = −t_x / Δx, y = −t_y / Δy, with t =
 *   `ENTRY/sample_1/geometry_1/translation` (or `ENTRY/data_1/translation`; (M, 3), (M, 2) or
 *   transposed (3, M), (2, M); metres, or the unit its `units` attribute names). CXI's
 *   translation moves the sample, so the beam's position on the sample is its negative;
 *   `translation: "beam"` takes t as the beam's position (sign +);
 * - the probe, when the file has one: complex (N, N), real, float (N, N, 2) = (re, im), or modes
 *   (K, N, N) of which the first is read;
 * - nphotons = the mean over patterns of the summed (unmasked) counts.
 */
import { readFrames } from "./cxi_frames.ts";
import { type CxiFail, lengthUnit, readGeometry } from "./cxi_units.ts";
import { PtychoInputError } from "./errors.ts";
import type { Hdf5Reader } from "./hdf5.ts";
import type { NpyArray } from "./npy.ts";
import { firstNonFinite, isComplex, isInteger, isRealFloat, realToFloat64 } from "./npy_convert.ts";

/** Where the detector data may be under an entry, in the order tried. */
const DATA_PATHS = ["data_1/data", "instrument_1/detector_1/data"];
/** Where the scan positions may be under an entry. */
const TRANSLATION_PATHS = ["sample_1/geometry_1/translation", "data_1/translation"];
/** Where a probe may be under an entry (PyNX/SHARP/ptychodus write `source_1/illumination`). */
const PROBE_PATHS = [
  "instrument_1/source_1/illumination",
  "instrument_1/source_1/probe",
  "instrument_1/detector_1/probe",
  "probe",
];
/** Where a detector mask may be under an entry. */
const MASK_PATHS = ["instrument_1/detector_1/mask", "data_1/mask"];

/** Where a probe may be in a CXI file's first entry. */
export const CXI_PROBE_PATHS: readonly string[] = PROBE_PATHS.map((p) => `entry_1/${p}`);

/** How to read a CXI file. */
export interface CxiOptions {
  /** What `translation` holds: the sample's position (CXI; default) or the beam's. */
  translation?: "sample" | "beam";
  /** Whether to fftshift the patterns (default `auto`, see io/cxi_frames.ts). */
  fftshift?: "auto" | "yes" | "no";
  /** Keep only the central crop × crop detector pixels (even, ≤ the detector side; default all). */
  crop?: number;
  /** How to read the detector mask (default `cxi`, see io/cxi_frames.ts). */
  mask?: "cxi" | "good" | "ignore";
  /** The entry to read (default `entry_1`, else the first). */
  entry?: string;
  /** Read the file's probe (default true; false when another probe replaces it). */
  probe?: boolean;
  /** Receives each warning (default: `console.warn`). */
  onWarning?: (message: string) => void;
}

/** A CXI scan as the dataset contract's arrays, with the conversions that made them. */
export interface CxiScan {
  /** `diffraction`, `xcoords`, `ycoords` and, when the file has one, `probeGuess`. */
  arrays: Map<string, NpyArray>;
  /** The unit conversions and choices made, for config.json and reconstruction.h5. */
  conversions: Record<string, unknown>;
  /** Mean summed counts per pattern (the scan's nphotons). */
  nphotons: number;
}

/** The CXI entries of a file (`entry`, `entry_1`, `entry_2`, ...), in number order. */
function cxiEntries(h5: Hdf5Reader): string[] {
  const number = (name: string) => Number(name.slice(6) || "0");
  return h5.names("").filter((name) => /^entry(_\d+)?$/.test(name))
    .sort((a, b) => number(a) - number(b));
}

/** Reads a CXI scan (see the module comment for every conversion). */
export function readCxi(h5: Hdf5Reader, options: CxiOptions = {}): CxiScan {
  const fail: CxiFail = (path, problem) => {
    throw new PtychoInputError(h5.file, `'${path}': ${problem}`);
  };
  const warn = (message: string) => (options.onWarning ?? console.warn)(`${h5.file}: ${message}`);
  const entry = chooseEntry(h5, options.entry, warn);
  const under = (paths: readonly string[]) => paths.map((p) => `${entry}/${p}`);
  const dataPaths = under(DATA_PATHS);
  const dataPath = h5.first(dataPaths) ??
    fail(dataPaths[0], `missing (nor is there '${dataPaths[1]}')`);
  const frames = readFrames(h5, dataPath, h5.first(under(MASK_PATHS)), options, fail, warn);
  const { m, n } = frames;
  const conversions: Record<string, unknown> = { format: "cxi", entry, ...frames.record };
  const nphotons = frames.total / m;

  const geometry = readGeometry(h5, entry, n, fail, warn);
  Object.assign(conversions, geometry.record);
  const tPaths = under(TRANSLATION_PATHS);
  const tPath = h5.first(tPaths) ?? fail(tPaths[0], `missing (nor is there '${tPaths[1]}')`);
  const { values: tv, cols, transposed } = readTranslation(h5, tPath, m, dataPath, fail);
  const metres = lengthUnit(h5.attr(tPath, "units")) ??
    fail(tPath, `unknown units '${h5.attr(tPath, "units")}' (expected m, mm, um or nm)`);
  const asBeam = options.translation ?? "sample";
  const sign = asBeam === "sample" ? -1 : 1;
  const xcoords = new Float64Array(m);
  const ycoords = new Float64Array(m);
  const at = (k: number, axis: number) => transposed ? tv[axis * m + k] : tv[k * cols + axis];
  for (let k = 0; k < m; k++) {
    xcoords[k] = sign * at(k, 0) * metres / geometry.pixelX;
    ycoords[k] = sign * at(k, 1) * metres / geometry.pixelY;
  }
  conversions.translation = tPath;
  if (transposed) conversions.translation_layout = `(${cols}, positions), transposed`;
  conversions.translation_to_metres = metres;
  conversions.positions = `${sign < 0 ? "beam = −translation" : "beam = translation"} ` +
    "(--cxi_translation " + asBeam + "); x = t_x / Δx (column), y = t_y / Δy (row), " +
    "origin at the translation's zero";
  conversions.nphotons = { value: nphotons, rule: "mean over patterns of the summed counts" };

  const arrays = new Map<string, NpyArray>([
    ["diffraction", { dtype: "f4", shape: [m, n, n], data: frames.amplitudes }],
    ["xcoords", { dtype: "f8", shape: [m], data: xcoords }],
    ["ycoords", { dtype: "f8", shape: [m], data: ycoords }],
  ]);
  const probePath = options.probe === false ? null : h5.first(under(PROBE_PATHS));
  if (probePath !== null) {
    arrays.set("probeGuess", readProbe(h5, probePath, n));
    conversions.probe = probePath;
  }
  return { arrays, conversions, nphotons };
}

/** The entry to read: the one asked for, else `entry_1`, else the first (see the module comment). */
function chooseEntry(
  h5: Hdf5Reader,
  wanted: string | undefined,
  warn: (message: string) => void,
): string {
  const entries = cxiEntries(h5);
  if (wanted !== undefined) {
    if (!h5.names(wanted).length) {
      throw new PtychoInputError(
        h5.file,
        `no group '${wanted}' (--cxi_entry); the entries are: ${entries.join(", ") || "none"}`,
      );
    }
    return wanted;
  }
  if (entries.length === 0) {
    const names = h5.names("");
    throw new PtychoInputError(
      h5.file,
      "neither CXI (no 'entry_1' group) nor our contract (no 'diffraction' dataset); the file " +
        `holds ${names.length ? names.map((k) => `'${k}'`).join(", ") : "nothing"} at its root`,
    );
  }
  const entry = entries.includes("entry_1") ? "entry_1" : entries[0];
  if (entries.length > 1) {
    warn(`${entries.length} entries (${entries.join(", ")}): reading ${entry} (--cxi_entry)`);
  }
  return entry;
}

/** The translation's values, with its layout: (M, 2|3), or (2|3, M) transposed. */
function readTranslation(
  h5: Hdf5Reader,
  path: string,
  m: number,
  dataPath: string,
  fail: CxiFail,
): { values: Float64Array; cols: number; transposed: boolean } {
  const t = h5.get(path);
  if (!isRealFloat(t) && !isInteger(t)) fail(path, `expected numbers, got dtype ${t.dtype}`);
  const [rows, cols] = t.shape;
  const axes = (d: number) => d === 2 || d === 3;
  if (t.shape.length !== 2 || (!axes(cols) && !axes(rows))) {
    fail(path, `expected shape (positions, 3) or (positions, 2), got (${t.shape})`);
  }
  const transposed = !(axes(cols) && rows === m) && axes(rows) && cols === m;
  if (!transposed && rows !== m) {
    fail(path, `${axes(cols) ? rows : cols} positions but '${dataPath}' has ${m} patterns`);
  }
  const values = realToFloat64(t);
  if (firstNonFinite(values) >= 0) fail(path, "contains NaN or Inf");
  return { values, cols: transposed ? rows : cols, transposed };
}

/**
 * A probe (N, N) as complex: complex, real, or float (N, N, 2) = (re, im); of modes (K, N, N)
 * (or (K, N, N, 2)) the first.
 */
function readProbe(h5: Hdf5Reader, path: string, n: number): NpyArray {
  const a = asComplexPairs(h5.get(path));
  if (!isComplex(a) && !isRealFloat(a)) {
    throw new PtychoInputError(h5.file, `'${path}': expected a complex probe, got ${a.dtype}`);
  }
  const dims = a.shape.length === 3 ? a.shape.slice(1) : a.shape;
  if (dims.length !== 2 || dims[0] !== n || dims[1] !== n) {
    throw new PtychoInputError(
      h5.file,
      `'${path}': expected a (${n}, ${n}) probe like the patterns, got shape (${a.shape})` +
        (dims.length === 2 && dims[0] === dims[1] && dims[0] < n && dims[0] % 2 === 0
          ? `; --cxi_crop ${dims[0]} keeps the central ${dims[0]}×${dims[0]} detector pixels`
          : ""),
    );
  }
  const lanes = isComplex(a) ? 2 : 1;
  const data = (a.data as Float32Array | Float64Array).subarray(0, lanes * n * n);
  return { dtype: a.dtype, shape: [n, n], data };
}

/**
 * A float array whose last axis has length 2 read as complex (re, im), as our reconstruction.h5
 * and many HDF5 writers without a complex type store it; any other array as it is.
 */
export function asComplexPairs(a: NpyArray): NpyArray {
  if (!isRealFloat(a) || a.shape.length < 3 || a.shape.at(-1) !== 2) return a;
  return { dtype: a.dtype === "f4" ? "c8" : "c16", shape: a.shape.slice(0, -1), data: a.data };
}
