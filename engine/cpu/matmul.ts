/**
 * Dense matrix multiply, C (m×n) = A (m×k) · B (k×n), by packing both operands into panels of
 * four rows/columns and running a 4×4 register-blocked inner kernel. Any operand layout
 * (transposed or not) is handled by the strides given to the packing step.
 */

import type { MatmulDims } from "../backend.ts";

/** Panel width of the register block. */
const R = 4;

/** A strided matrix view: element (row, col) is at data[offset + row·rowStride + col·colStride]. */
export interface MatrixView {
  /** The backing array. */
  data: Float32Array;
  /** Flat index of element (0, 0). */
  offset: number;
  /** Step between consecutive rows. */
  rowStride: number;
  /** Step between consecutive columns. */
  colStride: number;
}

/**
 * Pack `lines` lines of length `depth` from a view into panels of 4 lines, depth-major:
 * out[(panel·depth + p)·4 + l] = line (panel·4 + l) at depth p, zero past the last line.
 * For A the lines are its rows (depth k); for B they are its columns (depth k).
 */
export function packPanels(
  src: Float32Array,
  offset: number,
  lineStride: number,
  depthStride: number,
  lines: number,
  depth: number,
  out: Float32Array,
): Float32Array {
  const panels = Math.ceil(lines / R);
  for (let panel = 0; panel < panels; panel++) {
    const base = panel * depth * R;
    for (let l = 0; l < R; l++) {
      const line = panel * R + l;
      if (line >= lines) {
        for (let p = 0; p < depth; p++) out[base + p * R + l] = 0;
        continue;
      }
      const start = offset + line * lineStride;
      for (let p = 0; p < depth; p++) out[base + p * R + l] = src[start + p * depthStride];
    }
  }
  return out;
}

/** Number of floats a packed operand with `lines` lines of length `depth` needs. */
export function packedSize(lines: number, depth: number): number {
  return Math.ceil(lines / R) * R * depth;
}

/**
 * C[cOffset + i·n + j] (+)= Σ_p A[i,p]·B[p,j] from packed A (m lines) and packed B (n lines),
 * accumulating each 4×4 block in f64 registers over the whole depth k.
 */
export function gemmPacked(
  ap: Float32Array,
  bp: Float32Array,
  m: number,
  n: number,
  k: number,
  c: Float32Array,
  cOffset: number,
  accumulate: boolean,
): void {
  const mPanels = Math.ceil(m / R);
  const nPanels = Math.ceil(n / R);
  for (let ip = 0; ip < mPanels; ip++) {
    const aBase = ip * k * R;
    const i0 = ip * R;
    for (let jp = 0; jp < nPanels; jp++) {
      const bBase = jp * k * R;
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
      let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
      let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      for (let p = 0; p < k; p++) {
        const ai = aBase + p * R;
        const bi = bBase + p * R;
        const a0 = ap[ai], a1 = ap[ai + 1], a2 = ap[ai + 2], a3 = ap[ai + 3];
        const b0 = bp[bi], b1 = bp[bi + 1], b2 = bp[bi + 2], b3 = bp[bi + 3];
        c00 += a0 * b0;
        c01 += a0 * b1;
        c02 += a0 * b2;
        c03 += a0 * b3;
        c10 += a1 * b0;
        c11 += a1 * b1;
        c12 += a1 * b2;
        c13 += a1 * b3;
        c20 += a2 * b0;
        c21 += a2 * b1;
        c22 += a2 * b2;
        c23 += a2 * b3;
        c30 += a3 * b0;
        c31 += a3 * b1;
        c32 += a3 * b2;
        c33 += a3 * b3;
      }
      // deno-fmt-ignore
      const block = [c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33];
      const j0 = jp * R;
      const rows = Math.min(R, m - i0);
      const cols = Math.min(R, n - j0);
      for (let r = 0; r < rows; r++) {
        const row = cOffset + (i0 + r) * n + j0;
        for (let q = 0; q < cols; q++) {
          c[row + q] = accumulate ? c[row + q] + block[r * R + q] : block[r * R + q];
        }
      }
    }
  }
}

/** Reusable packing buffers, grown on demand (single-threaded, so one set suffices). */
const scratch: Float32Array[] = [new Float32Array(0), new Float32Array(0), new Float32Array(0)];

/** A scratch buffer of at least `size` floats in slot 0..2; contents are unspecified. */
export function scratchBuffer(slot: number, size: number): Float32Array {
  if (scratch[slot].length < size) scratch[slot] = new Float32Array(size);
  return scratch[slot];
}

/** C (m×n, row-major at cOffset) (+)= A·B for two strided views. */
export function gemm(
  a: MatrixView,
  b: MatrixView,
  m: number,
  n: number,
  k: number,
  c: Float32Array,
  cOffset: number,
  accumulate: boolean,
): void {
  const ap = packPanels(
    a.data,
    a.offset,
    a.rowStride,
    a.colStride,
    m,
    k,
    scratchBuffer(0, packedSize(m, k)),
  );
  const bp = packPanels(
    b.data,
    b.offset,
    b.colStride,
    b.rowStride,
    n,
    k,
    scratchBuffer(1, packedSize(n, k)),
  );
  gemmPacked(ap, bp, m, n, k, c, cOffset, accumulate);
}

/** Batched matmul: A (batchA, m, k) or (batchA, k, m); B (batchB, k, n) or (batchB, n, k). */
export function matmul(a: Float32Array, b: Float32Array, d: MatmulDims): Float32Array {
  const { m, k, n } = d;
  const batch = Math.max(d.batchA, d.batchB);
  const out = new Float32Array(batch * m * n);
  for (let i = 0; i < batch; i++) {
    const aOffset = d.batchA === 1 ? 0 : i * m * k;
    const bOffset = d.batchB === 1 ? 0 : i * k * n;
    const aView = d.transA
      ? { data: a, offset: aOffset, rowStride: 1, colStride: m }
      : { data: a, offset: aOffset, rowStride: k, colStride: 1 };
    const bView = d.transB
      ? { data: b, offset: bOffset, rowStride: 1, colStride: k }
      : { data: b, offset: bOffset, rowStride: n, colStride: 1 };
    gemm(aView, bView, m, n, k, out, i * m * n, false);
  }
  return out;
}
