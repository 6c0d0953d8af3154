/** Data-movement kernels: permute, pad/crop, circular roll of image axes. */

function rowMajorStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d];
  }
  return strides;
}

/** Transpose: out axis i is input axis perm[i]. */
export function permute(
  x: Float32Array,
  shape: readonly number[],
  perm: readonly number[],
): Float32Array {
  const rank = shape.length;
  const out = new Float32Array(x.length);
  if (x.length === 0) return out;
  const inStrides = rowMajorStrides(shape);
  const outShape = perm.map((p) => shape[p]);
  // Input stride taken by one step along each output axis.
  const step = perm.map((p) => inStrides[p]);
  const coord = new Array<number>(rank).fill(0);
  let src = 0;
  for (let o = 0; o < out.length; o++) {
    out[o] = x[src];
    for (let d = rank - 1; d >= 0; d--) {
      coord[d]++;
      src += step[d];
      if (coord[d] < outShape[d]) break;
      src -= step[d] * outShape[d];
      coord[d] = 0;
    }
  }
  return out;
}

/** Zero-pad (positive) or crop (negative) each axis: out[j] = x[j - before] inside, else 0. */
export function pad(
  x: Float32Array,
  shape: readonly number[],
  before: readonly number[],
  after: readonly number[],
): Float32Array {
  const rank = shape.length;
  const outShape = shape.map((d, i) => d + before[i] + after[i]);
  const outSize = outShape.reduce((p, d) => p * d, 1);
  const out = new Float32Array(outSize);
  if (outSize === 0) return out;
  if (rank === 0) {
    out[0] = x[0];
    return out;
  }
  const inStrides = rowMajorStrides(shape);
  const last = rank - 1;
  const rowLen = outShape[last];
  const rows = outSize / rowLen;
  const coord = new Array<number>(rank).fill(0); // output coordinates of the current row
  for (let r = 0; r < rows; r++) {
    // Locate the input row for this output row, or skip if it lies in the padding.
    let inside = true;
    let src = 0;
    for (let d = 0; d < last; d++) {
      const c = coord[d] - before[d];
      if (c < 0 || c >= shape[d]) {
        inside = false;
        break;
      }
      src += c * inStrides[d];
    }
    if (inside) {
      const dst = r * rowLen;
      for (let j = 0; j < rowLen; j++) {
        const c = j - before[last];
        if (c >= 0 && c < shape[last]) out[dst + j] = x[src + c];
      }
    }
    for (let d = last - 1; d >= 0; d--) {
      coord[d]++;
      if (coord[d] < outShape[d]) break;
      coord[d] = 0;
    }
  }
  return out;
}

/** Circular shift of the (h, w) axes of (batch, h, w, inner): out[(y+sy)%h, (x+sx)%w] = x[y, x]. */
export function roll2d(
  x: Float32Array,
  batch: number,
  h: number,
  w: number,
  inner: number,
  shiftY: number,
  shiftX: number,
): Float32Array {
  const out = new Float32Array(x.length);
  const sy = ((shiftY % h) + h) % h;
  const sx = ((shiftX % w) + w) % w;
  for (let b = 0; b < batch; b++) {
    const base = b * h * w * inner;
    for (let y = 0; y < h; y++) {
      const ty = (y + sy) % h;
      for (let xx = 0; xx < w; xx++) {
        const tx = (xx + sx) % w;
        const src = base + (y * w + xx) * inner;
        const dst = base + (ty * w + tx) * inner;
        for (let i = 0; i < inner; i++) out[dst + i] = x[src + i];
      }
    }
  }
  return out;
}

/** Split axis 1 of (outer, channels, plane) at `first` into two copies. */
export function splitChannels(
  x: Float32Array,
  outer: number,
  channels: number,
  plane: number,
  first: number,
): { a: Float32Array; b: Float32Array } {
  const a = new Float32Array(outer * first * plane);
  const b = new Float32Array(outer * (channels - first) * plane);
  const lenA = first * plane, lenB = (channels - first) * plane;
  for (let o = 0; o < outer; o++) {
    const base = o * channels * plane;
    a.set(x.subarray(base, base + lenA), o * lenA);
    b.set(x.subarray(base + lenA, base + lenA + lenB), o * lenB);
  }
  return { a, b };
}
