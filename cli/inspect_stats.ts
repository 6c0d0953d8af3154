/**
 * What `inspect` measures on a scan before training: photons per pattern, scan extent, step,
 * probe diameter and overlap, and the warnings that predict a poor reconstruction.
 *
 * Definitions (stated in the README too):
 * - photons per pattern = Σ amplitude² over the pattern (the counts when amplitudes are
 *   sqrt(counts), as the contract asks);
 * - step = the median over positions of the distance to the nearest other position;
 * - probe diameter d = the diameter of the disk with the area of the pixels where the probe's
 *   intensity |P|² is at least half its maximum (the intensity FWHM for a round probe, the disk
 *   itself for a sharp-edged pinhole);
 * - linear overlap = 1 − step / d (Bunk et al. 2008); below 0.6 reconstructions degrade.
 */
import type { PtychoDataset } from "../io/dataset.ts";

/** The summary of a scan. */
export interface ScanStats {
  /** Patterns (= positions). */
  patterns: number;
  /** Pattern side. */
  n: number;
  /** Photons per pattern: min, median, max. */
  photons: [number, number, number];
  /** Position range in object pixels: [xmin, xmax, ymin, ymax]. */
  extent: [number, number, number, number];
  /** Median nearest-neighbour distance (object pixels). */
  step: number;
  /** Probe diameter (object pixels), see the module comment. */
  probeDiameter: number;
  /** 1 − step / probeDiameter. */
  overlap: number;
  /** Mean pattern intensity (N × N), for the log-scale figure. */
  meanIntensity: Float64Array;
  /** Pixels at the stored integer type's maximum (saturated detector pixels), when known. */
  saturatedPixels: number | null;
  /** What will hurt a reconstruction, one line each. */
  warnings: string[];
}

/** Median of a copy of `values`. */
function median(values: ArrayLike<number>): number {
  const sorted = Float64Array.from(values).sort();
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Median nearest-neighbour distance of the positions (O(M²); inspect runs once). */
export function medianStep(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const m = x.length;
  if (m < 2) return 0;
  const nearest = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    let best = Infinity;
    for (let j = 0; j < m; j++) {
      if (j !== i) best = Math.min(best, Math.hypot(x[i] - x[j], y[i] - y[j]));
    }
    nearest[i] = best;
  }
  return median(nearest);
}

/** Equivalent-disk diameter of the probe's half-maximum intensity area (pixels). */
export function probeDiameter(probe: Float32Array, n: number): number {
  let peak = 0;
  const intensity = new Float64Array(n * n);
  for (let i = 0; i < n * n; i++) {
    intensity[i] = probe[2 * i] ** 2 + probe[2 * i + 1] ** 2;
    peak = Math.max(peak, intensity[i]);
  }
  const area = intensity.filter((v) => v >= peak / 2).length;
  return 2 * Math.sqrt(area / Math.PI);
}

/** Measures a loaded scan; `saturation` is the stored integer maximum (null: float data). */
export function scanStats(
  ds: PtychoDataset,
  gridsize: number,
  saturation: number | null,
): ScanStats {
  const { n, patternCount: m, diffraction } = ds;
  const pixels = n * n;
  const photons = new Float64Array(m);
  const meanIntensity = new Float64Array(pixels);
  let saturated = 0;
  for (let k = 0; k < m; k++) {
    let sum = 0;
    for (let p = 0; p < pixels; p++) {
      const counts = diffraction[k * pixels + p] ** 2;
      sum += counts;
      meanIntensity[p] += counts / m;
      if (saturation !== null && Math.round(counts) >= saturation) saturated++;
    }
    photons[k] = sum;
  }
  const sortedPhotons = Float64Array.from(photons).sort();
  const xs = ds.xcoords, ys = ds.ycoords;
  const extent: [number, number, number, number] = [Infinity, -Infinity, Infinity, -Infinity];
  for (let k = 0; k < m; k++) {
    extent[0] = Math.min(extent[0], xs[k]);
    extent[1] = Math.max(extent[1], xs[k]);
    extent[2] = Math.min(extent[2], ys[k]);
    extent[3] = Math.max(extent[3], ys[k]);
  }
  const step = medianStep(xs, ys);
  const diameter = probeDiameter(ds.probe, n);
  const overlap = diameter > 0 ? 1 - step / diameter : 0;
  const warnings: string[] = [];
  if (overlap < 0.6) {
    warnings.push(
      `overlap ${(100 * overlap).toFixed(0)} % is below 60 %: neighbouring positions share too ` +
        "little of the probe (smaller step or a wider probe)",
    );
  }
  if (saturated > 0) {
    warnings.push(
      `${saturated} saturated pixel${saturated === 1 ? "" : "s"} (at the detector type's ` +
        `maximum ${saturation}): mask them or drop those patterns`,
    );
  }
  if (gridsize > 1 && diameter > n / 2) {
    warnings.push(
      `the probe (${diameter.toFixed(1)} px across) is wider than the N/2 = ${n / 2} px window ` +
        `the network predicts the object in at gridsize ${gridsize}`,
    );
  }
  if (m > 1 && step === 0) warnings.push("some positions repeat (nearest-neighbour distance 0)");
  return {
    patterns: m,
    n,
    photons: [sortedPhotons[0], median(photons), sortedPhotons[m - 1]],
    extent,
    step,
    probeDiameter: diameter,
    overlap,
    meanIntensity,
    saturatedPixels: saturation === null ? null : saturated,
    warnings,
  };
}
