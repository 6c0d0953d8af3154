/**
 * CXI files (Coherent X-ray Imaging, HDF5-based, as PtyPy, PyNX and beamlines write them) turned
 * into the dataset contract (docs/physics.md#data-contract). Every conversion is listed in the
 * returned `conversions`, which the commands record in their outputs:
 *
 * - amplitudes = sqrt(counts) of `entry_1/data_1/data` (or `entry_1/instrument_1/detector_1/data`),
 *   with pixels flagged by the detector mask (`entry_1/instrument_1/detector_1/mask`, CXI: a
 *   pixel is good where the mask is 0) set to zero;
 * - zero frequency at (N/2, N/2): a detector image already has it there; a pattern stored with it
 *   at the corners (FFT order) is fftshifted. `auto` decides by where the mean pattern's
 *   intensity lies: in the four N/4×N/4 corner blocks (shift) or the central N/2×N/2 block (keep);
 * - photon energy E (`entry_1/instrument_1/source_1/energy`, joules as CXI says, or eV/keV when
 *   its `units` attribute says so) → wavelength λ = h·c/E;
 * - object pixel size Δx = λ·z / (N·p_x), Δy = λ·z / (N·p_y), with z =
 *   `entry_1/instrument_1/detector_1/distance` and p = `x_pixel_size`, `y_pixel_size` (metres);
 * - positions in object pixels: x = −t_x / Δx, y = −t_y / Δy, with t =
 *   `entry_1/sample_1/geometry_1/translation` (or `entry_1/data_1/translation`; metres, or the
 *   unit its `units` attribute names). CXI's translation moves the sample, so the beam's position
 *   on the sample is its negative; `translation: "beam"` takes t as the beam's position (sign +);
 * - nphotons = the mean over patterns of the summed (unmasked) counts.
 */
import { PtychoInputError } from "./errors.ts";
import type { AttrValue, Hdf5Reader } from "./hdf5.ts";
import type { NpyArray } from "./npy.ts";
import { firstNonFinite, isComplex, isInteger, isRealFloat, realToFloat64 } from "./npy_convert.ts";

/** Where the detector data may be, in the order tried. */
export const CXI_DATA_PATHS = ["entry_1/data_1/data", "entry_1/instrument_1/detector_1/data"];
/** Where the scan positions may be. */
export const CXI_TRANSLATION_PATHS = [
  "entry_1/sample_1/geometry_1/translation",
  "entry_1/data_1/translation",
];
/** Where a probe may be (PyNX/SHARP/ptychodus write `source_1/illumination`). */
export const CXI_PROBE_PATHS = [
  "entry_1/instrument_1/source_1/illumination",
  "entry_1/instrument_1/source_1/probe",
  "entry_1/instrument_1/detector_1/probe",
  "entry_1/probe",
];
/** Where a detector mask may be. */
export const CXI_MASK_PATHS = ["entry_1/instrument_1/detector_1/mask", "entry_1/data_1/mask"];
const DISTANCE = "entry_1/instrument_1/detector_1/distance";
const PIXEL_X = "entry_1/instrument_1/detector_1/x_pixel_size";
const PIXEL_Y = "entry_1/instrument_1/detector_1/y_pixel_size";
const ENERGY = "entry_1/instrument_1/source_1/energy";

const PLANCK = 6.62607015e-34; // J·s
const LIGHT_SPEED = 299792458; // m/s
const ELECTRON_VOLT = 1.602176634e-19; // J

/** How to read a CXI file. */
export interface CxiOptions {
  /** What `translation` holds: the sample's position (CXI; default) or the beam's. */
  translation?: "sample" | "beam";
  /** Whether to fftshift the patterns (default `auto`, see the module comment). */
  fftshift?: "auto" | "yes" | "no";
  /** Keep only the central crop × crop detector pixels (even, ≤ the detector side; default all). */
  crop?: number;
  /** Read the file's probe (default true; false when another probe replaces it). */
  probe?: boolean;
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

/** Reads a CXI scan (see the module comment for every conversion). */
export function readCxi(h5: Hdf5Reader, options: CxiOptions = {}): CxiScan {
  const fail = (path: string, problem: string): never => {
    throw new PtychoInputError(h5.file, `'${path}': ${problem}`);
  };
  const dataPath = h5.first(CXI_DATA_PATHS) ??
    fail(CXI_DATA_PATHS[0], `missing (nor is there '${CXI_DATA_PATHS[1]}')`);
  const counts = h5.get(dataPath);
  if (!isRealFloat(counts) && !isInteger(counts)) {
    fail(dataPath, `expected real counts, got dtype ${counts.dtype}`);
  }
  if (counts.shape.length !== 3) {
    fail(dataPath, `expected 3 dimensions (patterns, N, N), got shape (${counts.shape})`);
  }
  const [m, h, w] = counts.shape;
  if (h !== w) fail(dataPath, `patterns must be square (N, N), got ${h}×${w}`);
  const d = h;
  const n = options.crop ?? d;
  if (!(Number.isInteger(n) && n > 0 && n % 2 === 0 && n <= d && (d - n) % 2 === 0)) {
    fail(dataPath, `cannot crop ${d}×${d} patterns to ${n}×${n} (an even side up to ${d})`);
  }
  // 64-bit integers arrive as bigints; every other type is read in place (no f64 copy).
  const values: ArrayLike<number> = counts.dtype === "i8" || counts.dtype === "u8"
    ? realToFloat64(counts)
    : counts.data as ArrayLike<number>;
  const bad = firstNonFinite(values);
  if (bad >= 0) fail(dataPath, `contains NaN or Inf (pattern ${Math.floor(bad / (d * d))})`);
  let negative = -1;
  for (let i = 0; i < values.length && negative < 0; i++) if (values[i] < 0) negative = i;
  if (negative >= 0) {
    fail(dataPath, `contains negative counts (pattern ${Math.floor(negative / (d * d))})`);
  }

  const conversions: Record<string, unknown> = {
    format: "cxi",
    data: dataPath,
    data_dtype: counts.dtype,
    amplitudes: "sqrt(counts)",
  };
  const masked = new Uint8Array(d * d);
  const maskPath = h5.first(CXI_MASK_PATHS);
  if (maskPath !== null) {
    const mask = h5.get(maskPath);
    if (!isInteger(mask) || mask.shape.join() !== `${d},${d}`) {
      fail(maskPath, `expected an integer (${d}, ${d}) mask, got ${mask.dtype} (${mask.shape})`);
    }
    const flags = realToFloat64(mask);
    for (let p = 0; p < d * d; p++) masked[p] = flags[p] === 0 ? 0 : 1;
    conversions.mask = {
      path: maskPath,
      rule: "pixel used where mask == 0",
      masked_pixels: masked.reduce((a, b) => a + b, 0),
    };
  }

  const shift = decideShift(values, m, d, options.fftshift ?? "auto");
  conversions.fftshift = shift;
  // Output pixel (r, c) is pixel (r0 + r, r0 + c) of the (shifted) detector frame.
  const r0 = (d - n) / 2;
  if (n < d) {
    conversions.crop = `the central ${n}×${n} of the ${d}×${d} detector (from pixel ${r0}, ${r0})`;
  }
  const source = (i: number) => shift.applied ? (r0 + i + d / 2) % d : r0 + i;
  const amplitudes = new Float32Array(m * n * n);
  let total = 0;
  for (let k = 0; k < m; k++) {
    for (let r = 0; r < n; r++) {
      const rr = source(r);
      for (let c = 0; c < n; c++) {
        const cc = source(c);
        if (masked[rr * d + cc]) continue;
        const v = values[k * d * d + rr * d + cc];
        total += v;
        amplitudes[k * n * n + r * n + c] = Math.sqrt(v);
      }
    }
  }
  const nphotons = total / m;

  const geometry = readGeometry(h5, n, fail);
  Object.assign(conversions, geometry.record);
  const tPath = h5.first(CXI_TRANSLATION_PATHS) ??
    fail(CXI_TRANSLATION_PATHS[0], `missing (nor is there '${CXI_TRANSLATION_PATHS[1]}')`);
  const t = h5.get(tPath);
  if (!isRealFloat(t) && !isInteger(t)) fail(tPath, `expected numbers, got dtype ${t.dtype}`);
  if (t.shape.length !== 2 || (t.shape[1] !== 2 && t.shape[1] !== 3)) {
    fail(tPath, `expected shape (positions, 3) or (positions, 2), got (${t.shape})`);
  }
  if (t.shape[0] !== m) {
    fail(tPath, `${t.shape[0]} positions but '${dataPath}' has ${m} patterns`);
  }
  const tv = realToFloat64(t);
  if (firstNonFinite(tv) >= 0) fail(tPath, "contains NaN or Inf");
  const metres = lengthUnit(h5.attr(tPath, "units")) ??
    fail(tPath, `unknown units '${h5.attr(tPath, "units")}' (expected m, mm, um or nm)`);
  const asBeam = options.translation ?? "sample";
  const sign = asBeam === "sample" ? -1 : 1;
  const xcoords = new Float64Array(m);
  const ycoords = new Float64Array(m);
  const cols = t.shape[1];
  for (let k = 0; k < m; k++) {
    xcoords[k] = sign * tv[k * cols] * metres / geometry.pixelX;
    ycoords[k] = sign * tv[k * cols + 1] * metres / geometry.pixelY;
  }
  conversions.translation = tPath;
  conversions.translation_to_metres = metres;
  conversions.positions = `${sign < 0 ? "beam = −translation" : "beam = translation"} ` +
    "(--cxi_translation " + asBeam + "); x = t_x / Δx (column), y = t_y / Δy (row), " +
    "origin at the translation's zero";
  conversions.nphotons = { value: nphotons, rule: "mean over patterns of the summed counts" };

  const arrays = new Map<string, NpyArray>([
    ["diffraction", { dtype: "f4", shape: [m, n, n], data: amplitudes }],
    ["xcoords", { dtype: "f8", shape: [m], data: xcoords }],
    ["ycoords", { dtype: "f8", shape: [m], data: ycoords }],
  ]);
  const probePath = options.probe === false ? null : h5.first(CXI_PROBE_PATHS);
  if (probePath !== null) {
    arrays.set("probeGuess", readProbe(h5, probePath, n));
    conversions.probe = probePath;
  }
  return { arrays, conversions, nphotons };
}

/** Detector distance, pixel sizes and photon energy, and the object pixel size they give. */
function readGeometry(
  h5: Hdf5Reader,
  n: number,
  fail: (path: string, problem: string) => never,
) {
  const scalar = (path: string): number => {
    if (!h5.has(path)) fail(path, "missing (needed to convert positions to object pixels)");
    const a = h5.get(path);
    const v = a.data.length === 1 ? Number((a.data as ArrayLike<number | bigint>)[0]) : NaN;
    if (!(v > 0) || !Number.isFinite(v)) {
      fail(path, `expected one positive number, got (${a.shape})`);
    }
    return v;
  };
  const length = (path: string): number => {
    const factor = lengthUnit(h5.attr(path, "units")) ??
      fail(path, `unknown units '${h5.attr(path, "units")}' (expected m, mm, um or nm)`);
    return scalar(path) * factor;
  };
  const distance = length(DISTANCE);
  const px = length(PIXEL_X);
  const py = h5.has(PIXEL_Y) ? length(PIXEL_Y) : px;
  const rawEnergy = scalar(ENERGY);
  const units = String(h5.attr(ENERGY, "units") ?? "J");
  const joulesPer: Record<string, number> = { J: 1, eV: ELECTRON_VOLT, keV: 1e3 * ELECTRON_VOLT };
  const toJoules = joulesPer[units] ?? fail(ENERGY, `unknown units '${units}' (J, eV or keV)`);
  const energy = rawEnergy * toJoules;
  const wavelength = PLANCK * LIGHT_SPEED / energy;
  const pixelX = wavelength * distance / (n * px);
  const pixelY = wavelength * distance / (n * py);
  return {
    pixelX,
    pixelY,
    record: {
      detector_distance_m: distance,
      detector_pixel_size_m: [px, py],
      photon_energy_J: energy,
      photon_energy_eV: energy / ELECTRON_VOLT,
      wavelength_m: wavelength,
      object_pixel_size_m: [pixelX, pixelY],
      object_pixel_rule: "Δ = λ·z / (N·p), λ = h·c / E",
    },
  };
}

/** Metres per unit of a length `units` attribute (absent = metres), or null if unknown. */
function lengthUnit(units: AttrValue): number | null {
  if (units === null) return 1;
  const table: Record<string, number> = {
    m: 1,
    meter: 1,
    meters: 1,
    mm: 1e-3,
    um: 1e-6,
    "µm": 1e-6,
    micron: 1e-6,
    nm: 1e-9,
  };
  return table[String(units)] ?? null;
}

/** Whether to fftshift, decided as the module comment says. */
function decideShift(
  values: ArrayLike<number>,
  m: number,
  n: number,
  mode: "auto" | "yes" | "no",
): { applied: boolean; rule: string } {
  if (mode !== "auto") return { applied: mode === "yes", rule: `--cxi_fftshift ${mode}` };
  let centre = 0, corners = 0;
  const q = n / 4;
  for (let k = 0; k < m; k++) {
    for (let r = 0; r < n; r++) {
      const rowCentre = r >= q && r < n - q;
      const rowCorner = r < q || r >= n - q;
      for (let c = 0; c < n; c++) {
        const v = values[k * n * n + r * n + c];
        if (rowCentre && c >= q && c < n - q) centre += v;
        else if (rowCorner && (c < q || c >= n - q)) corners += v;
      }
    }
  }
  const applied = corners > centre;
  return {
    applied,
    rule: `auto: ${applied ? "more" : "less"} intensity in the four N/4 corner blocks ` +
      `(${corners.toExponential(3)}) than in the central N/2 block (${centre.toExponential(3)})`,
  };
}

/** A probe (N, N), or the first mode of (modes, N, N), as complex64. */
function readProbe(h5: Hdf5Reader, path: string, n: number): NpyArray {
  const a = h5.get(path);
  if (!isComplex(a) && !isRealFloat(a)) {
    throw new PtychoInputError(h5.file, `'${path}': expected a complex probe, got ${a.dtype}`);
  }
  const dims = a.shape.length === 3 ? a.shape.slice(1) : a.shape;
  if (dims.length !== 2 || dims[0] !== n || dims[1] !== n) {
    throw new PtychoInputError(
      h5.file,
      `'${path}': expected a (${n}, ${n}) probe like the patterns, got shape (${a.shape})`,
    );
  }
  const lanes = isComplex(a) ? 2 : 1;
  const data = (a.data as Float32Array | Float64Array).subarray(0, lanes * n * n);
  return { dtype: isComplex(a) ? (a.dtype as "c8" | "c16") : a.dtype, shape: [n, n], data };
}
