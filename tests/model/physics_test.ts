/**
 * Geometry and gradients of the physics chain: an asymmetric object through merge/extract lands
 * where docs/physics.md#merge-and-re-extraction says, and merge → extract → illuminate → diffract →
 * Poisson NLL matches finite differences.
 */
import { Rng, tensor, tidy } from "../../engine/mod.ts";
import { poissonNll } from "../../model/losses.ts";
import {
  canvasSize,
  diffractIntensity,
  extractPatches,
  mergePatches,
} from "../../model/physics.ts";
import { assert, assertAlmostEquals, assertEquals } from "../assert.ts";
import { gradCheck, randomArray } from "../engine/gradcheck.ts";

/** An asymmetric complex test object: value encodes (row, col) distinctly. */
function objectValue(y: number, x: number): [number, number] {
  return [0.01 * y + 0.001 * x * x, 0.02 * x - 0.003 * y];
}

Deno.test("canvas size M = N + (gs − 1)·4 + 10", () => {
  assertEquals(canvasSize(64, 2), 78);
  assertEquals(canvasSize(64, 1), 74);
  assertEquals(canvasSize(32, 3), 50);
});

Deno.test("asymmetric object: merge places patch c at centre + (pos − mean); extract undoes it", () => {
  const n = 16, gs = 2, m = canvasSize(n, gs);
  const positions = [[20, 30], [24, 30], [20, 36], [24, 36]]; // (x, y); mean (22, 33)
  const [mx, my] = [22, 33];
  const patches = new Float32Array(4 * n * n * 2);
  const offsets = new Float32Array(8);
  positions.forEach(([x, y], c) => {
    offsets[2 * c] = -(x - mx);
    offsets[2 * c + 1] = -(y - my);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const [re, im] = objectValue(y - n / 2 + i, x - n / 2 + j);
        patches[2 * ((c * n + i) * n + j)] = re;
        patches[2 * ((c * n + i) * n + j) + 1] = im;
      }
    }
  });
  const { canvas, back } = tidy(() => {
    const off = tensor(offsets, [1, 4, 2]);
    const merged = mergePatches(tensor(patches, [1, 4, n, n, 2]), off, m);
    return { canvas: merged.dataSync(), back: extractPatches(merged, off, n).dataSync() };
  });
  let covered = 0;
  for (let u = 0; u < m; u++) {
    for (let v = 0; v < m; v++) {
      const re = canvas[2 * (u * m + v)], im = canvas[2 * (u * m + v) + 1];
      const oy = my - m / 2 + u, ox = mx - m / 2 + v;
      // Covered pixels: inside the central N/2 window of at least one patch.
      const inside = positions.some(([x, y]) =>
        Math.abs(oy - y + 0.5) < n / 4 && Math.abs(ox - x + 0.5) < n / 4
      );
      if (inside) {
        covered++;
        const [er, ei] = objectValue(oy, ox);
        assertAlmostEquals(re, er, 1e-5, `canvas (${u}, ${v}) re`);
        assertAlmostEquals(im, ei, 1e-5, `canvas (${u}, ${v}) im`);
      } else {
        assertEquals([re, im], [0, 0], `canvas (${u}, ${v}) should be empty`);
      }
    }
  }
  assertEquals(covered, 12 * 14); // union of four 8×8 windows shifted by 4 (x) and 6 (y)
  // Re-extraction returns each patch's own central window exactly.
  for (let c = 0; c < 4; c++) {
    for (let i = n / 4; i < (3 * n) / 4; i++) {
      for (let j = n / 4; j < (3 * n) / 4; j++) {
        const k = 2 * ((c * n + i) * n + j);
        assertAlmostEquals(back[k], patches[k], 1e-5);
        assertAlmostEquals(back[k + 1], patches[k + 1], 1e-5);
      }
    }
  }
});

Deno.test("gradient of merge → extract → illuminate → diffract → Poisson NLL", () => {
  const n = 8, c = 4, rng = new Rng(11);
  const offsets = tensor([1.3, -0.7, -1.3, -0.7, 1.3, 0.7, -1.3, 0.7], [1, c, 2]);
  const probe = randomArray(rng, n * n * 2, -1, 1);
  const counts = Float32Array.from({ length: c * n * n }, () => Math.floor(5 * rng.uniform()));
  const patches = randomArray(rng, c * n * n * 2, -1, 1);
  const chain = ([p, s]: ReturnType<typeof tensor>[]) => {
    const m = canvasSize(n, 2);
    const back = extractPatches(mergePatches(p, offsets, m), offsets, n);
    const intensity = diffractIntensity(back, tensor(probe, [n, n, 2]));
    return poissonNll(intensity, s, tensor(counts, [1, c, n, n]));
  };
  const problem = gradCheck(chain, [patches, Float32Array.of(1.5)], [[1, c, n, n, 2], [1]], {
    samples: 40,
  });
  assert(problem === null, problem ?? "");
  offsets.dispose();
});
