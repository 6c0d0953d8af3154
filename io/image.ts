/**
 * The image types every layer shares: a real image, and a complex image in the two layouts the
 * code uses — interleaved (re, im) f32 pairs, as the engine, npz files and the simulator hold
 * them, and separate f64 planes, as the metrics compute on them. All are row-major
 * (`data[row * width + col]`).
 */

/** A real image, row-major; `D` narrows the storage where a module needs f64. */
export interface RealImage<D extends ArrayLike<number> = ArrayLike<number>> {
  /** Rows. */
  height: number;
  /** Columns. */
  width: number;
  /** height·width values, row-major. */
  data: D;
}

/** A complex image as height·width interleaved (re, im) f32 pairs, row-major. */
export interface InterleavedImage {
  /** Rows. */
  height: number;
  /** Columns. */
  width: number;
  /** height·width (re, im) pairs, row-major. */
  data: Float32Array;
}

/** A complex image as separate row-major f64 planes of real and imaginary parts. */
export interface ComplexImage {
  /** Rows. */
  height: number;
  /** Columns. */
  width: number;
  /** Real parts, length height·width. */
  re: Float64Array;
  /** Imaginary parts, length height·width. */
  im: Float64Array;
}

/** A complex image (separate planes) from interleaved (re, im) values. */
export function complexFromInterleaved(
  data: ArrayLike<number>,
  height: number,
  width: number,
): ComplexImage {
  if (data.length !== 2 * height * width) {
    throw new RangeError(`expected ${2 * height * width} interleaved values, got ${data.length}`);
  }
  const re = new Float64Array(height * width);
  const im = new Float64Array(height * width);
  for (let i = 0; i < re.length; i++) {
    re[i] = data[2 * i];
    im[i] = data[2 * i + 1];
  }
  return { height, width, re, im };
}
