/**
 * Data and probe scaling (docs/physics.md#normalisation), all computed in f64:
 * - amplitude normalisation X_norm = X · sqrt((N/2)² / mean_{groups, channels} Σ_pixels X²);
 * - the initial intensity scale s0 = sqrt(nphotons) / (N/2);
 * - probe normalisation P ← P / (probe_scale · mean_{N×N} |M_hard · P|).
 */

/** Upstream probe_scale (ModelConfig). */
export const PROBE_SCALE = 4;

/** Σ X² of every pattern of (M, N, N) amplitudes, in f64. */
export function patternEnergies(diffraction: Float32Array, n: number): Float64Array {
  const pixels = n * n;
  const m = diffraction.length / pixels;
  const out = new Float64Array(m);
  for (let k = 0; k < m; k++) {
    let s = 0;
    for (let p = k * pixels; p < (k + 1) * pixels; p++) s += diffraction[p] * diffraction[p];
    out[k] = s;
  }
  return out;
}

/**
 * The amplitude normalisation factor sqrt((N/2)² / mean Σ X²), the mean taken over every
 * (group, channel) entry of `indices` (positions may repeat across groups, as upstream).
 */
export function normalizationFactor(
  diffraction: Float32Array,
  n: number,
  indices: Int32Array,
): number {
  const energies = patternEnergies(diffraction, n);
  let total = 0;
  for (const i of indices) total += energies[i];
  const meanEnergy = total / indices.length;
  if (!(meanEnergy > 0)) return 1;
  return Math.sqrt(((n / 2) * (n / 2)) / meanEnergy);
}

/** The initial intensity scale s0 = sqrt(nphotons) / (N/2) (988.21 at N=64, 1e9 photons). */
export function initialIntensityScale(nphotons: number, n: number): number {
  return Math.sqrt(nphotons) / (n / 2);
}

/** M_hard: the disk d < N/4 with d measured from (N/2 − 0.5, N/2 − 0.5), as 0/1 per pixel. */
export function hardProbeMask(n: number): Uint8Array {
  const mask = new Uint8Array(n * n);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const dy = y - n / 2 + 0.5, dx = x - n / 2 + 0.5;
      mask[y * n + x] = Math.sqrt(dx * dx + dy * dy) < n / 4 ? 1 : 0;
    }
  }
  return mask;
}

/**
 * P / (probeScale · mean_{N×N} |M_hard · P|) for a complex (N, N) probe interleaved (re, im).
 * A probe that is zero on the whole disk is returned unchanged.
 */
export function normalizeProbe(
  probe: Float32Array,
  n: number,
  probeScale = PROBE_SCALE,
): Float32Array {
  const mask = hardProbeMask(n);
  let total = 0;
  for (let p = 0; p < n * n; p++) {
    if (mask[p]) total += Math.hypot(probe[2 * p], probe[2 * p + 1]);
  }
  const meanAbs = total / (n * n);
  if (!(meanAbs > 0)) return probe.slice();
  const factor = 1 / (probeScale * meanAbs);
  return probe.map((v) => v * factor);
}
