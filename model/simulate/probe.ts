/**
 * Probes for the simulator: the upstream "ideal" disk probe (docs/physics.md#ideal-probe) and a
 * probe read from an NPZ file (a dataset's `probeGuess`, or `probe_real`/`probe_imag` of the
 * forward-golden files).
 */
import { PtychoInputError } from "../../io/errors.ts";
import type { NpyArray } from "../../io/npy.ts";
import { complexToFloat32, firstNonFinite, isComplex, isRealFloat } from "../../io/npy_convert.ts";
import { NpzReader } from "../../io/npz.ts";
import type { InterleavedImage } from "../../io/image.ts";
import { gaussianBlur } from "./objects.ts";

/**
 * The upstream default probe (`ptycho/probe.py::get_default_probe`): a symmetric 1-D Gaussian
 * window of length n (std n/(0.7·π²)), max-normalised, outer product, thresholded at > 0.5 to a
 * binary disk, blurred with σ = 1 (reflect), plus 1e−9; real, flat phase.
 *
 * With a `curvature` (radians) the same amplitude gets a curved wavefront, the phase
 * curvature·(r/R)² about the disk centre ((n − 1)/2, (n − 1)/2), R the radius of a circle with
 * the binary disk's area: a beam slightly out of focus. A real, centro-symmetric probe cannot
 * tell an object from its twin (complex conjugate, point-mirrored) in a single pattern; a
 * curved wavefront can, which lets gridsize-1 models learn the phase.
 */
export function idealDiskProbe(n: number, curvature = 0): InterleavedImage {
  const std = n / (0.7 * Math.PI * Math.PI);
  const centre = (n - 1) / 2;
  const window = new Float64Array(n);
  for (let i = 0; i < n; i++) window[i] = Math.exp(-0.5 * ((i - centre) / std) ** 2);
  const peak = Math.max(...window);
  for (let i = 0; i < n; i++) window[i] /= peak;
  const disk = new Float64Array(n * n);
  let area = 0;
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      disk[r * n + c] = window[r] * window[c] > 0.5 ? 1 : 0;
      area += disk[r * n + c];
    }
  }
  const blurred = gaussianBlur({ height: n, width: n, data: disk }, 1).data;
  const radius2 = area / Math.PI;
  const data = new Float32Array(2 * n * n);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      const p = r * n + c, amplitude = blurred[p] + 1e-9;
      const phase = curvature * ((r - centre) ** 2 + (c - centre) ** 2) / radius2;
      data[2 * p] = amplitude * Math.cos(phase);
      data[2 * p + 1] = amplitude * Math.sin(phase);
    }
  }
  return { height: n, width: n, data };
}

/** A square 2-D (or (N, N, 1)) real or complex array as a complex image. */
function squareComplex(a: NpyArray, file: string, key: string): InterleavedImage {
  if (!isComplex(a) && !isRealFloat(a)) {
    throw new PtychoInputError(file, `key '${key}': expected complex values, got dtype ${a.dtype}`);
  }
  const shape = a.shape.length === 3 && a.shape[2] === 1 ? a.shape.slice(0, 2) : a.shape;
  if (shape.length !== 2 || shape[0] !== shape[1]) {
    throw new PtychoInputError(
      file,
      `key '${key}': expected a square (N, N) probe, got (${a.shape})`,
    );
  }
  const data = Float32Array.from(complexToFloat32(a));
  if (firstNonFinite(data) >= 0) {
    throw new PtychoInputError(file, `key '${key}': contains NaN or Inf`);
  }
  return { height: shape[0], width: shape[1], data };
}

/**
 * Reads a probe from an NPZ: `probeGuess` (any dataset of the contract), else `probe_real` +
 * `probe_imag` (the forward-golden files). Anything else is a {@link PtychoInputError}.
 */
export function probeFromFile(path: string): InterleavedImage {
  let npz: NpzReader;
  try {
    npz = NpzReader.open(path);
  } catch (e) {
    if (e instanceof PtychoInputError) throw e;
    throw new PtychoInputError(path, "not a readable .npz file", { cause: e });
  }
  try {
    if (npz.has("probeGuess")) return squareComplex(npz.get("probeGuess"), path, "probeGuess");
    if (npz.has("probe_real") && npz.has("probe_imag")) {
      const re = squareComplex(npz.get("probe_real"), path, "probe_real");
      const im = squareComplex(npz.get("probe_imag"), path, "probe_imag");
      if (re.height !== im.height) {
        throw new PtychoInputError(path, "probe_real and probe_imag differ in shape");
      }
      const data = new Float32Array(re.data.length);
      for (let p = 0; p < data.length; p += 2) {
        data[p] = re.data[p] - im.data[p + 1];
        data[p + 1] = re.data[p + 1] + im.data[p];
      }
      return { height: re.height, width: re.width, data };
    }
    throw new PtychoInputError(
      path,
      "no probe: expected key 'probeGuess' or 'probe_real'/'probe_imag'",
    );
  } finally {
    npz.close();
  }
}
