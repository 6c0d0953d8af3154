/**
 * The default merge window (`--merge_window auto`, docs/quality/README.md): the central N/2 window
 * of each patch where the probe lies inside it, the whole patch where a wide probe lights more.
 *
 * The central window (upstream's) assumes the illuminated part of every patch lies in its central
 * N/2 × N/2 square. A probe with intensity outside it (a real, refined probe: 11.5 % of |P|² on the
 * Siemens star at N = 64) then has part of its exit wave cut from the merge, and no object can
 * explain the patterns (docs/quality/README.md, "The merge window on the Siemens star"). Measured:
 * on the star the full window fits better (mean NLL per pattern 42 934 against 48 989 after the
 * same 6 epochs); on the simulated flat disk, wholly inside the window, the central window trains
 * better (amplitude SSIM 0.41–0.46 against 0.37 at 320 steps).
 */
import type { MergeWindow } from "./physics.ts";

/** Share of the probe's intensity outside the central window above which `auto` keeps it all. */
export const WIDE_PROBE_SHARE = 0.01;

/**
 * The share of Σ|P|² that lies outside the central N/2 × N/2 square of a complex (N, N) probe,
 * interleaved (re, im); 0 for an all-zero probe.
 */
export function probeShareOutsideCentre(probe: Float32Array, n: number): number {
  const lo = n / 4, hi = (3 * n) / 4;
  let inside = 0, total = 0;
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const p = 2 * (y * n + x);
      const e = probe[p] * probe[p] + probe[p + 1] * probe[p + 1];
      total += e;
      if (y >= lo && y < hi && x >= lo && x < hi) inside += e;
    }
  }
  return total > 0 ? (total - inside) / total : 0;
}

/**
 * The window `auto` picks for `probe`: "full" when more than {@link WIDE_PROBE_SHARE} of its
 * intensity lies outside the central window, else "central". Only a merge (gridsize > 1 with
 * object_big) uses it; without one the answer is "central", the value that changes nothing.
 */
export function autoMergeWindow(probe: Float32Array, n: number, merges: boolean): MergeWindow {
  if (!merges) return "central";
  return probeShareOutsideCentre(probe, n) > WIDE_PROBE_SHARE ? "full" : "central";
}
