/**
 * A small valid dataset (M = 6 positions, N = 8) as NumPy arrays, for dataset and fuzz tests.
 */
import type { NpyArray } from "../../io/npy.ts";

/** Arrays of a valid dataset; `n` is the pattern side and `m` the number of positions. */
export function sampleDataset(m = 6, n = 8): Record<string, NpyArray> {
  const diffraction = new Float32Array(m * n * n).map((_, i) => (i % 13) * 0.25);
  const probe = new Float32Array(2 * n * n).map((_, i) => (i % 2 ? 0.1 : 1));
  const object = new Float32Array(2 * 20 * 24).map((_, i) => (i % 2 ? 0 : 1));
  const xs = Float64Array.from({ length: m }, (_, i) => 5 + i);
  const ys = Float64Array.from({ length: m }, (_, i) => 6 + 0.5 * i);
  return {
    diffraction: { dtype: "f4", shape: [m, n, n], data: diffraction },
    probeGuess: { dtype: "c8", shape: [n, n], data: probe },
    xcoords: { dtype: "f8", shape: [m], data: xs },
    ycoords: { dtype: "f8", shape: [m], data: ys },
    objectGuess: { dtype: "c8", shape: [20, 24], data: object },
    scan_index: { dtype: "i8", shape: [m], data: new BigInt64Array(m) },
    _metadata: { dtype: "U", shape: [], data: [JSON.stringify({ nphotons: 1e6 })] },
  };
}
