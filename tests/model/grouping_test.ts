/** Grouping (docs/physics.md#grouping) and scaling (docs/physics.md#normalisation) properties. */
import { Rng } from "../../engine/mod.ts";
import { groupPositions, nearestNeighbours, selectGroups } from "../../model/grouping.ts";
import {
  hardProbeMask,
  initialIntensityScale,
  normalizationFactor,
  normalizeProbe,
  patternEnergies,
} from "../../model/normalize.ts";
import { assert, assertAlmostEquals, assertEquals } from "../assert.ts";

/** A jittered 6×6 raster with spacing 5. */
function raster(seed = 1): { xs: Float64Array; ys: Float64Array } {
  const rng = new Rng(seed);
  const xs = new Float64Array(36), ys = new Float64Array(36);
  for (let i = 0; i < 36; i++) {
    xs[i] = 40 + 5 * (i % 6) + rng.uniform() - 0.5;
    ys[i] = 30 + 5 * Math.floor(i / 6) + rng.uniform() - 0.5;
  }
  return { xs, ys };
}

Deno.test("nearest neighbours exclude the seed and come nearest first", () => {
  const { xs, ys } = raster();
  const nn = nearestNeighbours(xs, ys, 14, 4);
  assertEquals(nn.length, 4);
  assert(!nn.includes(14));
  const d = (i: number) => Math.hypot(xs[i] - xs[14], ys[i] - ys[14]);
  for (let k = 1; k < 4; k++) assert(d(nn[k - 1]) <= d(nn[k]));
  assertEquals(new Set(nn), new Set([8, 13, 15, 20]));
});

Deno.test("gridsize 2: groups are the seed's 4 nearest neighbours; offsets = −(pos − mean)", () => {
  const { xs, ys } = raster();
  const g = groupPositions(xs, ys, { nGroups: 20, gridsize: 2, neighbours: 4 }, new Rng(5));
  assertEquals([g.count, g.size], [20, 4]);
  for (let k = 0; k < g.count; k++) {
    const members = [...g.indices.subarray(4 * k, 4 * k + 4)];
    assertEquals(new Set(members).size, 4);
    let sx = 0, sy = 0;
    members.forEach((i, j) => {
      const ox = g.offsets[2 * (4 * k + j)], oy = g.offsets[2 * (4 * k + j) + 1];
      assertAlmostEquals(ox, -(xs[i] - g.centers[2 * k]), 1e-5);
      assertAlmostEquals(oy, -(ys[i] - g.centers[2 * k + 1]), 1e-5);
      sx += ox;
      sy += oy;
    });
    assertAlmostEquals(sx, 0, 1e-4);
    assertAlmostEquals(sy, 0, 1e-4);
  }
  // Members of each group are some seed's neighbours: the 4 of them all lie within 2 spacings.
  for (let k = 0; k < g.count; k++) {
    const m = [...g.indices.subarray(4 * k, 4 * k + 4)];
    for (const a of m) for (const b of m) assert(Math.hypot(xs[a] - xs[b], ys[a] - ys[b]) < 12);
  }
});

Deno.test("grouping is seeded: same seed same groups, other seed other groups", () => {
  const { xs, ys } = raster();
  const opts = { nGroups: 16, gridsize: 2, neighbours: 4 };
  const a = groupPositions(xs, ys, opts, new Rng(42));
  const b = groupPositions(xs, ys, opts, new Rng(42));
  const c = groupPositions(xs, ys, opts, new Rng(43));
  assertEquals(a.indices, b.indices);
  assert(a.indices.some((v, i) => v !== c.indices[i]));
});

Deno.test("gridsize 1: distinct seeds, capped at M, zero offsets", () => {
  const { xs, ys } = raster();
  const g = groupPositions(xs, ys, { nGroups: 100, gridsize: 1, neighbours: 4 }, new Rng(1));
  assertEquals(g.count, 36);
  assertEquals(new Set(g.indices).size, 36);
  assert(g.offsets.every((v) => v === 0));
});

Deno.test("gridsize 3 (C = 9) and more groups than positions", () => {
  const { xs, ys } = raster();
  const g = groupPositions(xs, ys, { nGroups: 50, gridsize: 3, neighbours: 4 }, new Rng(2));
  assertEquals([g.count, g.size], [50, 9]);
  for (let k = 0; k < g.count; k++) {
    assertEquals(new Set(g.indices.subarray(9 * k, 9 * k + 9)).size, 9);
  }
  const sel = selectGroups(g, [3, 0]);
  assertEquals([...sel.indices.subarray(0, 9)], [...g.indices.subarray(27, 36)]);
  assertEquals(sel.offsets.length, 2 * 9 * 2);
});

Deno.test("normalisation: mean Σ X² over grouped patterns becomes (N/2)²", () => {
  const n = 8, rng = new Rng(3);
  const diff = Float32Array.from({ length: 5 * n * n }, () => 3 * rng.uniform());
  const indices = Int32Array.from([0, 1, 1, 4, 2, 3]);
  const f = normalizationFactor(diff, n, indices);
  const e = patternEnergies(diff.map((v) => v * f), n);
  const mean = [...indices].reduce((s, i) => s + e[i], 0) / indices.length;
  assertAlmostEquals(mean, 16, 1e-3);
});

Deno.test("intensity scale s0 = sqrt(nphotons)/(N/2): 988.21 at N=64, 494.11 at N=128", () => {
  assertAlmostEquals(initialIntensityScale(1e9, 64), 988.212, 1e-3);
  assertAlmostEquals(initialIntensityScale(1e9, 128), 494.106, 1e-3);
});

Deno.test("probe normalisation: mean_{N×N} |M_hard·P| = 1/4 afterwards", () => {
  const n = 16, rng = new Rng(4);
  const probe = Float32Array.from({ length: 2 * n * n }, () => rng.uniform() - 0.3);
  const mask = hardProbeMask(n);
  assertEquals(mask[(n / 2) * n + n / 2], 1);
  assertEquals(mask[0], 0);
  // Symmetric about (N/2 − 0.5): row y and row N−1−y agree.
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) assertEquals(mask[y * n + x], mask[(n - 1 - y) * n + (n - 1 - x)]);
  }
  const p = normalizeProbe(probe, n, 4);
  let s = 0;
  for (let i = 0; i < n * n; i++) if (mask[i]) s += Math.hypot(p[2 * i], p[2 * i + 1]);
  assertAlmostEquals(s / (n * n), 0.25, 1e-5);
});
