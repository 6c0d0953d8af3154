/**
 * The reconstruction file (`reconstruction.npz`, docs/physics.md#outputs) and ground-truth objects,
 * as `infer` writes and `evaluate` reads them.
 *
 * reconstruction.npz keys: `object` (H, W) complex64; `amplitude`, `phase` (H, W) float32;
 * `xcoords`, `ycoords` (P,) float64, the scan positions whose patches were stitched (object
 * pixels, x = column); `origin_xy` (2,) float64, the object (column, row) of pixel (0, 0);
 * `stitch_crop` () int32. Plain arrays only: `numpy.load` reads it without pickle.
 */
import { PtychoInputError } from "../../io/errors.ts";
import type { NpyArray } from "../../io/npy.ts";
import {
  complexToFloat32,
  isComplex,
  isInteger,
  isRealFloat,
  realToFloat64,
} from "../../io/npy_convert.ts";
import { encodeNpz, NpzReader } from "../../io/npz.ts";
import { complexFromInterleaved, type ComplexImage } from "./metrics.ts";
import type { StitchedObject } from "../infer/stitch.ts";

/** A reconstruction read back, with whatever placement information the file holds. */
export interface ReconstructionFile {
  /** The object. */
  object: ComplexImage;
  /** Scan positions stitched (object pixels), when stored. */
  xcoords: Float64Array | null;
  /** Scan positions stitched (object pixels), when stored. */
  ycoords: Float64Array | null;
  /** Object (column, row) of pixel (0, 0), when stored. */
  originXY: [number, number] | null;
  /** Central crop kept per patch, when stored. */
  stitchCrop: number | null;
}

/** The bytes of `reconstruction.npz` for a stitched object and the positions it came from. */
export function encodeReconstructionNpz(
  stitched: StitchedObject,
  xcoords: ArrayLike<number>,
  ycoords: ArrayLike<number>,
  stitchCrop: number,
): Uint8Array {
  const { height, width, data } = stitched;
  const amplitude = new Float32Array(height * width);
  const phase = new Float32Array(height * width);
  for (let i = 0; i < height * width; i++) {
    amplitude[i] = Math.hypot(data[2 * i], data[2 * i + 1]);
    phase[i] = Math.atan2(data[2 * i + 1], data[2 * i]);
  }
  const arrays: Record<string, NpyArray> = {
    object: { dtype: "c8", shape: [height, width], data: Float32Array.from(data) },
    amplitude: { dtype: "f4", shape: [height, width], data: amplitude },
    phase: { dtype: "f4", shape: [height, width], data: phase },
    xcoords: { dtype: "f8", shape: [xcoords.length], data: Float64Array.from(xcoords) },
    ycoords: { dtype: "f8", shape: [ycoords.length], data: Float64Array.from(ycoords) },
    origin_xy: {
      dtype: "f8",
      shape: [2],
      data: Float64Array.of(stitched.originX, stitched.originY),
    },
    stitch_crop: { dtype: "i4", shape: [], data: Int32Array.of(stitchCrop) },
  };
  return encodeNpz(arrays, { compress: true });
}

function image2d(npz: NpzReader, key: string): ComplexImage {
  const a = npz.get(key);
  if (a.shape.length !== 2) {
    throw new PtychoInputError(
      npz.file,
      `key '${key}': expected a 2-D image, got shape (${a.shape})`,
    );
  }
  if (!isComplex(a) && !isRealFloat(a)) {
    throw new PtychoInputError(npz.file, `key '${key}': expected complex or float, got ${a.dtype}`);
  }
  return complexFromInterleaved(complexToFloat32(a), a.shape[0], a.shape[1]);
}

function realVector(npz: NpzReader, key: string, length?: number): Float64Array | null {
  if (!npz.has(key)) return null;
  const a = npz.get(key);
  if (a.shape.length !== 1 || (!isRealFloat(a) && !isInteger(a))) {
    throw new PtychoInputError(npz.file, `key '${key}': expected a 1-D real array`);
  }
  if (length !== undefined && a.shape[0] !== length) {
    throw new PtychoInputError(
      npz.file,
      `key '${key}': expected ${length} values, got ${a.shape[0]}`,
    );
  }
  return realToFloat64(a);
}

/**
 * Reads a reconstruction: `object` (complex), else `objectGuess`, else `amplitude` with
 * optional `phase`; plus the placement keys when present.
 */
export function readReconstructionNpz(path: string): ReconstructionFile {
  const npz = NpzReader.open(path);
  try {
    let object: ComplexImage;
    if (npz.has("object")) object = image2d(npz, "object");
    else if (npz.has("objectGuess")) object = image2d(npz, "objectGuess");
    else if (npz.has("amplitude")) {
      const amp = image2d(npz, "amplitude");
      const phase = npz.has("phase") ? image2d(npz, "phase") : null;
      if (phase && (phase.height !== amp.height || phase.width !== amp.width)) {
        throw new PtychoInputError(path, "keys 'amplitude' and 'phase' differ in shape");
      }
      const re = amp.re.map((a, i) => a * Math.cos(phase ? phase.re[i] : 0));
      const im = amp.re.map((a, i) => a * Math.sin(phase ? phase.re[i] : 0));
      object = { height: amp.height, width: amp.width, re, im };
    } else {
      throw new PtychoInputError(
        path,
        "no reconstruction: expected key 'object' (complex), 'objectGuess' or 'amplitude'",
      );
    }
    const xcoords = realVector(npz, "xcoords");
    const ycoords = realVector(npz, "ycoords", xcoords?.length);
    if ((xcoords === null) !== (ycoords === null)) {
      throw new PtychoInputError(path, "has only one of 'xcoords' and 'ycoords'");
    }
    const origin = realVector(npz, "origin_xy", 2);
    let stitchCrop: number | null = null;
    if (npz.has("stitch_crop")) {
      const a = npz.get("stitch_crop");
      const v = a.data.length === 1 && (isInteger(a) || isRealFloat(a)) ? Number(a.data[0]) : NaN;
      if (!(Number.isInteger(v) && v > 0)) {
        throw new PtychoInputError(path, "key 'stitch_crop': expected one positive whole number");
      }
      stitchCrop = v;
    }
    return {
      object,
      xcoords,
      ycoords,
      originXY: origin ? [origin[0], origin[1]] : null,
      stitchCrop,
    };
  } finally {
    npz.close();
  }
}

/** A ground-truth object and the scan positions its file holds (if any). */
export interface GroundTruthFile {
  /** The object (`objectGuess`, else `object`). */
  object: ComplexImage;
  /** Scan positions of the dataset, when present. */
  xcoords: Float64Array | null;
  /** Scan positions of the dataset, when present. */
  ycoords: Float64Array | null;
  /** Probe side N when the file holds `probeGuess`. */
  n: number | null;
}

/** Reads a ground-truth object: a dataset with `objectGuess`, or an npz with `object`. */
export function readGroundTruthNpz(path: string): GroundTruthFile {
  const npz = NpzReader.open(path);
  try {
    const key = npz.has("objectGuess") ? "objectGuess" : npz.has("object") ? "object" : null;
    if (key === null) {
      throw new PtychoInputError(path, "no ground truth: expected key 'objectGuess' (or 'object')");
    }
    const object = image2d(npz, key);
    const xcoords = realVector(npz, "xcoords");
    const ycoords = realVector(npz, "ycoords", xcoords?.length);
    const n = npz.has("probeGuess") ? npz.get("probeGuess").shape[0] ?? null : null;
    return { object, xcoords: ycoords ? xcoords : null, ycoords: xcoords ? ycoords : null, n };
  } finally {
    npz.close();
  }
}
