/** `--merge_window auto`: the central window for a probe inside it, the whole patch otherwise. */
import { assert, assertAlmostEquals, assertEquals } from "../assert.ts";
import {
  autoMergeWindow,
  probeShareOutsideCentre,
  WIDE_PROBE_SHARE,
} from "../../model/merge_window.ts";

/** A complex (n, n) probe, interleaved, with intensity `f(y, x)` and a phase ramp. */
function probeOf(n: number, f: (y: number, x: number) => number): Float32Array {
  const p = new Float32Array(2 * n * n);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const a = Math.sqrt(f(y, x)), phi = 0.3 * x - 0.1 * y;
      p[2 * (y * n + x)] = a * Math.cos(phi);
      p[2 * (y * n + x) + 1] = a * Math.sin(phi);
    }
  }
  return p;
}

Deno.test("the probe's share outside the central N/2 square, counted by hand", () => {
  const n = 8;
  // Intensity 1 everywhere except 3 on the central 4 × 4 square (rows and columns 2..5).
  const inCentre = (v: number) => v >= 2 && v < 6;
  const p = probeOf(n, (y, x) => (inCentre(y) && inCentre(x) ? 3 : 1));
  // Outside: 64 − 16 = 48 pixels of 1; inside 16 of 3.
  assertAlmostEquals(probeShareOutsideCentre(p, n), 48 / (48 + 48), 1e-6);
  assertEquals(probeShareOutsideCentre(new Float32Array(2 * n * n), n), 0);
});

Deno.test("auto: a disk inside the central window merges the central window, a wide probe all", () => {
  const n = 32;
  const r = (y: number, x: number) => Math.hypot(y - n / 2 + 0.5, x - n / 2 + 0.5);
  const disk = probeOf(n, (y, x) => (r(y, x) < n / 4 - 1 ? 1 : 0));
  assertEquals(probeShareOutsideCentre(disk, n), 0);
  assertEquals(autoMergeWindow(disk, n, true), "central");
  const wide = probeOf(n, (y, x) => Math.exp(-(r(y, x) ** 2) / (2 * (n / 5) ** 2)));
  assert(probeShareOutsideCentre(wide, n) > 0.2, `${probeShareOutsideCentre(wide, n)}`);
  assertEquals(autoMergeWindow(wide, n, true), "full");
  // Without a merge (gridsize 1, or object_big false) the window changes nothing: central.
  assertEquals(autoMergeWindow(wide, n, false), "central");
});

Deno.test("auto's threshold: just below the share stays central, just above goes full", () => {
  const n = 16;
  const inCentre = (v: number) => v >= 4 && v < 12;
  // 64 central pixels of 1 and one outside pixel carrying `e`: share e / (64 + e).
  const withOutside = (share: number) => {
    const e = (64 * share) / (1 - share);
    return probeOf(n, (y, x) => (inCentre(y) && inCentre(x) ? 1 : y === 0 && x === 0 ? e : 0));
  };
  assertEquals(autoMergeWindow(withOutside(0.9 * WIDE_PROBE_SHARE), n, true), "central");
  assertEquals(autoMergeWindow(withOutside(1.1 * WIDE_PROBE_SHARE), n, true), "full");
});
