/**
 * Conversions from decoded NumPy arrays to the numeric forms the project computes with.
 */
import type { NpyArray } from "./npy.ts";

/** Whether the dtype is a real floating type (f4, f8). */
export function isRealFloat(array: NpyArray): boolean {
  return array.dtype === "f4" || array.dtype === "f8";
}

/** Whether the dtype is complex (c8, c16). */
export function isComplex(array: NpyArray): boolean {
  return array.dtype === "c8" || array.dtype === "c16";
}

/** Whether the dtype is an integer or bool type. */
export function isInteger(array: NpyArray): boolean {
  return /^[iub]/.test(array.dtype);
}

/** Real numeric data (float, integer or bool) as f32; the f4 array itself is returned uncopied. */
export function realToFloat32(array: NpyArray): Float32Array {
  if (array.dtype === "f4") return array.data as Float32Array;
  return Float32Array.from(realValues(array));
}

/** Real numeric data (float, integer or bool) as f64. */
export function realToFloat64(array: NpyArray): Float64Array {
  if (array.dtype === "f8") return array.data as Float64Array;
  return Float64Array.from(realValues(array));
}

/** Complex or real float data as interleaved (re, im) f32; the c8 array itself is uncopied. */
export function complexToFloat32(array: NpyArray): Float32Array {
  if (array.dtype === "c8") return array.data as Float32Array;
  if (array.dtype === "c16") return Float32Array.from(array.data as Float64Array);
  const real = realValues(array);
  const out = new Float32Array(2 * real.length);
  for (let i = 0; i < real.length; i++) out[2 * i] = real[i];
  return out;
}

/** The values of a real (non-complex, non-string) array as numbers. */
function realValues(array: NpyArray): ArrayLike<number> {
  if (isComplex(array) || array.dtype === "U") {
    throw new TypeError(`dtype ${array.dtype} is not a real number type`);
  }
  if (array.dtype === "i8" || array.dtype === "u8") {
    return Array.from(array.data as BigInt64Array, (v) => Number(v));
  }
  return array.data as ArrayLike<number>;
}

/** Index of the first NaN or ±Infinity in `data`, or -1. */
export function firstNonFinite(data: ArrayLike<number>): number {
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v - v !== 0) return i;
  }
  return -1;
}
