/**
 * The dataset contract (docs/physics.md#data-contract): load a ptychography `.npz`, validate it,
 * and return typed arrays. Every violation is one {@link PtychoInputError} naming the file and the
 * key.
 *
 * Arrays are read one at a time and only the keys used are decompressed; a little-endian f32
 * `diffraction` is used in place, so loading needs about the decompressed size of the used arrays
 * (twice that for a legacy (H, W, M) layout, which is transposed). The diffraction header is
 * checked (dtype, shape against the coordinates, memory needed against the budget of
 * io/memory.ts) before the array is inflated, so a file too large for memory is refused at once.
 */
import { PtychoInputError } from "./errors.ts";
import { checkMemory } from "./memory.ts";
import type { NpyHeader } from "./npy_header.ts";
import type { NpyArray } from "./npy.ts";
import {
  complexToFloat32,
  firstNonFinite,
  isComplex,
  isInteger,
  isRealFloat,
  realToFloat32,
  realToFloat64,
} from "./npy_convert.ts";
import { NpzReader } from "./npz.ts";

/**
 * Photon count assumed when `_metadata` does not give `nphotons`
 * (docs/physics.md#intensity-scale-and-photon-count).
 */
export const DEFAULT_NPHOTONS = 1e9;

/** A validated dataset. Complex arrays are interleaved (re, im) f32. */
export interface PtychoDataset {
  /** The file it was loaded from. */
  file: string;
  /** Diffraction amplitudes (M, N, N), C order, zero frequency at (N/2, N/2). */
  diffraction: Float32Array;
  /** M: number of patterns and scan positions. */
  patternCount: number;
  /** N: pattern and probe side in pixels. */
  n: number;
  /** Probe (N, N) complex. */
  probe: Float32Array;
  /** Scan positions in object pixels; x = column, y = row. Length M. */
  xcoords: Float64Array;
  /** Scan rows (y) in object pixels. Length M. */
  ycoords: Float64Array;
  /** Start (true) positions; default to `xcoords`/`ycoords`. */
  xcoordsStart: Float64Array;
  /** Start (true) rows; default to `ycoords`. */
  ycoordsStart: Float64Array;
  /** Scan index per position; defaults to zeros. */
  scanIndex: Int32Array;
  /** Full object (H, W) complex when the file has `objectGuess`. */
  objectGuess: { height: number; width: number; data: Float32Array } | null;
  /** Parsed `_metadata` JSON ({} when absent). */
  metadata: Record<string, unknown>;
  /** `metadata.nphotons` when a positive number, else {@link DEFAULT_NPHOTONS}. */
  nphotons: number;
  /** Warnings raised while loading (also passed to `onWarning`). */
  warnings: string[];
  /** How the file was read and converted, when it was not a plain `.npz` (see io/scan_file.ts). */
  source?: ScanSource;
}

/** The format a scan was read from and every unit conversion made on the way. */
export interface ScanSource {
  /** `npz`, `hdf5` (the contract's keys as datasets) or `cxi`. */
  format: "npz" | "hdf5" | "cxi";
  /** Conversions and choices, by name (recorded in config.json and reconstruction.h5). */
  conversions: Record<string, unknown>;
}

/** Named arrays the contract reads: an `.npz` archive, an HDF5 file, or converted arrays. */
export interface ArraySource {
  /** The file's name in error messages. */
  readonly file: string;
  /** Whether the array `key` exists. */
  has(key: string): boolean;
  /** The array `key` (missing: a {@link PtychoInputError}). */
  get(key: string): NpyArray;
  /**
   * The dtype and shape of `key` without reading its data, where the source can tell them
   * (an `.npz` reads only the member's header): sizes are checked before memory is committed.
   */
  header?(key: string): ArrayLayout;
}

/** What is known of an array before its data is read. */
export type ArrayLayout = Pick<NpyHeader, "dtype" | "shape" | "size" | "itemSize">;

/** The layout of an array already read (for sources that cannot tell it beforehand). */
function layoutOf(a: NpyArray): ArrayLayout {
  const size = a.shape.reduce((p, d) => p * d, 1);
  return { dtype: a.dtype, shape: [...a.shape], size, itemSize: Number(a.dtype.slice(1)) || 0 };
}

/** What a group needs, and where warnings go. */
export interface LoadDatasetOptions {
  /** Group side: a group holds gridsize² positions (default 1). */
  gridsize?: number;
  /**
   * Nearest neighbours searched per seed when gridsize > 1 (default 4, docs/physics.md#grouping).
   */
  neighbours?: number;
  /** Receives each warning (default: `console.warn`). */
  onWarning?: (message: string) => void;
}

/** Fewest scan positions one group needs: 1, or the seed plus its neighbours (≥ gridsize²). */
export function minimumPositions(gridsize: number, neighbours: number): number {
  return gridsize === 1 ? 1 : Math.max(gridsize * gridsize, neighbours + 1);
}

/** Loads and validates a dataset `.npz` (docs/physics.md#data-contract). */
export function loadDataset(path: string, options: LoadDatasetOptions = {}): PtychoDataset {
  const npz = NpzReader.open(path);
  try {
    return readDataset(npz, options);
  } finally {
    npz.close();
  }
}

/** Validates a dataset from an open archive or other array source (see {@link loadDataset}). */
export function readDataset(npz: ArraySource, options: LoadDatasetOptions = {}): PtychoDataset {
  const file = npz.file;
  const fail: Fail = (key, problem) => {
    throw new PtychoInputError(file, `key '${key}': ${problem}`);
  };
  const warnings: string[] = [];
  const warn = (message: string) => {
    warnings.push(`${file}: ${message}`);
    (options.onWarning ?? console.warn)(`${file}: ${message}`);
  };

  const diffKey = npz.has("diffraction") ? "diffraction" : npz.has("diff3d") ? "diff3d" : null;
  const missing = [
    ...(diffKey ? [] : ["diffraction' (or legacy 'diff3d')"]),
    ...["probeGuess", "xcoords", "ycoords"].filter((k) => !npz.has(k)).map((k) => `${k}'`),
  ];
  if (missing.length > 0) {
    const plural = missing.length > 1 ? "s" : "";
    throw new PtychoInputError(file, `missing key${plural} '${missing.join(", '")}`);
  }

  const coords = (key: string, length?: number): Float64Array => {
    const a = npz.get(key);
    if (a.shape.length !== 1) fail(key, `expected 1 dimension (M,), got shape (${a.shape})`);
    if (!isRealFloat(a) && !isInteger(a)) fail(key, `expected real numbers, got dtype ${a.dtype}`);
    if (length !== undefined && a.shape[0] !== length) {
      fail(key, `coordinate length mismatch: ${a.shape[0]} positions, xcoords has ${length}`);
    }
    const values = realToFloat64(a);
    if (firstNonFinite(values) >= 0) fail(key, "contains NaN or Inf");
    return values;
  };
  const xcoords = coords("xcoords");
  const m = xcoords.length;
  const ycoords = coords("ycoords", m);
  const xcoordsStart = npz.has("xcoords_start") ? coords("xcoords_start", m) : xcoords;
  const ycoordsStart = npz.has("ycoords_start") ? coords("ycoords_start", m) : ycoords;

  const header = npz.header ? npz.header(diffKey!) : layoutOf(npz.get(diffKey!));
  const layout = diffractionLayout(header, diffKey!, m, file, fail);
  const diffraction = readDiffraction(npz.get(diffKey!), diffKey!, layout, fail, warn);
  const n = diffraction.n;

  const probe = complexImage(npz.get("probeGuess"), "probeGuess", fail);
  if (probe.height !== n || probe.width !== n) {
    fail(
      "probeGuess",
      `N mismatch: patterns are ${n}×${n} but the probe is ${probe.height}×${probe.width}`,
    );
  }

  let scanIndex = new Int32Array(m);
  if (npz.has("scan_index")) {
    const a = npz.get("scan_index");
    if (!isInteger(a)) fail("scan_index", `expected integers, got dtype ${a.dtype}`);
    if (a.shape.length !== 1 || a.shape[0] !== m) {
      fail("scan_index", `expected shape (${m},), got (${a.shape})`);
    }
    const values = realToFloat64(a);
    if (values.some((v) => Math.abs(v) > 2 ** 31 - 1)) fail("scan_index", "values out of range");
    scanIndex = Int32Array.from(values);
  }

  const objectGuess = npz.has("objectGuess")
    ? complexImage(npz.get("objectGuess"), "objectGuess", fail)
    : null;

  const metadata = npz.has("_metadata") ? readMetadata(npz.get("_metadata"), fail) : {};
  const nphotons = typeof metadata.nphotons === "number" && metadata.nphotons > 0 &&
      Number.isFinite(metadata.nphotons)
    ? metadata.nphotons
    : DEFAULT_NPHOTONS;

  const gridsize = options.gridsize ?? 1;
  const neighbours = options.neighbours ?? 4;
  const needed = minimumPositions(gridsize, neighbours);
  if (m < needed) {
    throw new PtychoInputError(
      file,
      `only ${m} scan position${
        m === 1 ? "" : "s"
      }; one group of gridsize ${gridsize} needs ${needed}`,
    );
  }

  return {
    file,
    diffraction: diffraction.data,
    patternCount: m,
    n,
    probe: probe.data,
    xcoords,
    ycoords,
    xcoordsStart,
    ycoordsStart,
    scanIndex,
    objectGuess,
    metadata,
    nphotons,
    warnings,
  };
}

type Fail = (key: string, problem: string) => never;

/** What the diffraction header says: pattern side and whether the layout is legacy (H, W, M). */
interface DiffractionLayout {
  n: number;
  legacy: boolean;
}

/**
 * Checks the diffraction header before the array is read: float dtype, (M, N, N) or legacy
 * (N, N, M) shape with M = the coordinates' length, square patterns, and memory for the loaded
 * array (plus its f32 copy or transposed copy where one is made) within the budget.
 */
function diffractionLayout(
  h: ArrayLayout,
  key: string,
  m: number,
  file: string,
  fail: Fail,
): DiffractionLayout {
  if (h.dtype !== "f4" && h.dtype !== "f8") {
    const hint = /^[iub]/.test(h.dtype)
      ? " (raw counts? store sqrt(counts) as float32 amplitudes)"
      : "";
    fail(key, `expected float amplitudes, got dtype ${h.dtype}${hint}`);
  }
  if (h.shape.length !== 3) fail(key, `expected 3 dimensions (M, N, N), got shape (${h.shape})`);
  const legacy = h.shape[0] !== m && h.shape[2] === m;
  const [count, height, width] = legacy ? [h.shape[2], h.shape[0], h.shape[1]] : h.shape;
  if (count !== m) {
    fail(key, `coordinate length mismatch: ${count} patterns but xcoords has ${m} positions`);
  }
  if (height !== width) fail(key, `patterns must be square (N, N), got ${height}×${width}`);
  const f32 = h.size * 4;
  const bytes = h.size * h.itemSize + (h.dtype === "f4" ? 0 : f32) + (legacy ? f32 : 0);
  checkMemory(
    file,
    `key '${key}' (${count} patterns of ${height}×${width}, ${h.dtype})`,
    bytes,
    "this loader holds the whole array in memory: use a dataset with fewer patterns (a smaller " +
      "--n_images when simulating, or a subset of the scan) or smaller ones (a smaller crop)",
  );
  return { n: height, legacy };
}

/** Converts to f32, transposes a legacy (H, W, M) layout, and checks finiteness and sign. */
function readDiffraction(
  a: NpyArray,
  key: string,
  layout: DiffractionLayout,
  fail: Fail,
  warn: (message: string) => void,
): { data: Float32Array; n: number } {
  let data = realToFloat32(a);
  const n = layout.n;
  if (layout.legacy) {
    warn(`key '${key}' has legacy layout (${a.shape}) = (H, W, M); transposed to (M, H, W)`);
    data = transposeLastToFirst(data, n * n, a.shape[2]);
  }
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v - v !== 0) fail(key, `contains NaN or Inf (element ${i})`);
    if (v < 0) fail(key, `contains negative amplitudes (element ${i} = ${v})`);
  }
  return { data, n };
}

/** (P, M) → (M, P): moves the last axis to the front. */
function transposeLastToFirst(src: Float32Array, pixels: number, m: number): Float32Array {
  const out = new Float32Array(src.length);
  for (let p = 0; p < pixels; p++) {
    for (let k = 0; k < m; k++) out[k * pixels + p] = src[p * m + k];
  }
  return out;
}

/** A 2-D (or (H, W, 1)) complex or real-float image as interleaved complex f32. */
function complexImage(
  a: NpyArray,
  key: string,
  fail: Fail,
): { height: number; width: number; data: Float32Array } {
  if (!isComplex(a) && !isRealFloat(a)) fail(key, `expected complex values, got dtype ${a.dtype}`);
  const squeezed = a.shape.length === 3 && a.shape[2] === 1 ? a.shape.slice(0, 2) : a.shape;
  if (squeezed.length !== 2) fail(key, `expected 2 dimensions (H, W), got shape (${a.shape})`);
  const data = complexToFloat32(a);
  const bad = firstNonFinite(data);
  if (bad >= 0) fail(key, `contains NaN or Inf (element ${bad >> 1})`);
  return { height: squeezed[0], width: squeezed[1], data };
}

/** Parses the 0-d string `_metadata` as a JSON object. */
function readMetadata(a: NpyArray, fail: Fail): Record<string, unknown> {
  if (a.dtype !== "U" || a.shape.length !== 0) {
    fail("_metadata", `expected a 0-d string, got dtype ${a.dtype} shape (${a.shape})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse((a.data as string[])[0]);
  } catch {
    fail("_metadata", "is not valid JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    fail("_metadata", "is not a JSON object");
  }
  return parsed as Record<string, unknown>;
}
