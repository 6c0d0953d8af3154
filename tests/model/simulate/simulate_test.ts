/**
 * The simulator's physics: equal to the project's forward model, photon totals, orientation of
 * object windows (no mirror, no transpose), determinism, and the written file's contract.
 */
import { encode } from "fast-png";
import { cpuBackend, Rng, tensor } from "../../../engine/mod.ts";
import { loadDataset } from "../../../io/dataset.ts";
import { writeNpzFile } from "../../../io/npz.ts";
import type { InterleavedImage } from "../../../io/image.ts";
import { grfObject } from "../../../model/simulate/objects.ts";
import { diffract } from "../../../model/physics.ts";
import { randomScan, scanBounds } from "../../../model/simulate/scan.ts";
import {
  datasetArrays,
  extractObjectPatches,
  simulateDiffraction,
} from "../../../model/simulate/simulate.ts";
import { simulateDataset, type SimulationRecipe } from "../../../model/simulate/dataset.ts";
import { idealDiskProbe } from "../../../model/simulate/probe.ts";
import { assert, assertAlmostEquals, assertEquals } from "../../assert.ts";

/** A probe with no symmetry: the ideal disk with a tilted amplitude and a phase ramp. */
function asymmetricProbe(n: number): InterleavedImage {
  const probe = idealDiskProbe(n);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      const k = 2 * (r * n + c);
      const a = probe.data[k] * (1 + 0.6 * r / n + 0.2 * c / n), phi = 0.4 * c - 0.15 * r;
      probe.data[k] = a * Math.cos(phi);
      probe.data[k + 1] = a * Math.sin(phi);
    }
  }
  return probe;
}

Deno.test("noise-free simulated diffraction equals the forward model diffract() of the same patches", () => {
  const n = 16;
  const object = grfObject(48, new Rng(3), { exponent: 2 });
  const probe = asymmetricProbe(n);
  const positions = randomScan(40, scanBounds(48, 48, n)!, new Rng(4));
  const sim = simulateDiffraction({
    object,
    probe,
    positions,
    nphotons: 1e6,
    noise: "none",
    rng: new Rng(5),
    keepPatches: true,
  });
  const m = positions.x.length;
  const backend = cpuBackend();
  const expected = diffract(
    tensor(sim.patches!, [m, 1, n, n, 2], { backend }),
    tensor(probe.data, [n, n, 2], { backend }),
  ).dataSync();
  let peak = 0, worst = 0;
  for (let k = 0; k < expected.length; k++) {
    peak = Math.max(peak, expected[k]);
    worst = Math.max(worst, Math.abs(sim.diffraction[k] / sim.intensityScale - expected[k]));
  }
  assert(worst <= 1e-5 * peak, `max |sim/s − diffract| = ${worst}, peak ${peak}`);
  // Noise-free totals: exactly nphotons per pattern on average.
  assertAlmostEquals(sim.meanCounts / 1e6, 1, 1e-5);
});

Deno.test("photon totals follow Poisson statistics around a mean of --nphotons per pattern", () => {
  const n = 16;
  const object = grfObject(64, new Rng(8));
  const probe = idealDiskProbe(n);
  const positions = randomScan(200, scanBounds(64, 64, n)!, new Rng(9));
  const base = { object, probe, positions, nphotons: 2e4, rng: new Rng(10) };
  const mean = simulateDiffraction({ ...base, noise: "none" });
  const noisy = simulateDiffraction({ ...base, noise: "poisson", rng: new Rng(11) });
  const pixels = n * n, m = positions.x.length;
  let sumZ = 0, sumZ2 = 0, totalCounts = 0;
  for (let p = 0; p < m; p++) {
    let lambda = 0, counts = 0;
    for (let k = p * pixels; k < (p + 1) * pixels; k++) {
      lambda += mean.diffraction[k] ** 2;
      const c = Math.round(noisy.diffraction[k] ** 2);
      assertAlmostEquals(noisy.diffraction[k] ** 2, c, 1e-3 * Math.max(1, c), "integer counts");
      counts += c;
    }
    const z = (counts - lambda) / Math.sqrt(lambda);
    sumZ += z;
    sumZ2 += z * z;
    totalCounts += counts;
  }
  const zMean = sumZ / m, zVar = sumZ2 / m - zMean * zMean;
  assert(Math.abs(zMean) < 4 / Math.sqrt(m), `mean z-score ${zMean}`);
  assert(zVar > 0.6 && zVar < 1.5, `z-score variance ${zVar} (Poisson: 1)`);
  // The mean total over patterns: 2e4 ± a few standard errors of the Poisson noise.
  const mean0 = totalCounts / m;
  assert(Math.abs(mean0 - 2e4) < 4 * Math.sqrt(2e4 / m) + 1, `mean counts ${mean0}`);
  assertAlmostEquals(noisy.meanCounts, mean0, 1e-6 * mean0);
});

Deno.test("object windows: the patch at (x, y) is O[y − N/2 + i, x − N/2 + j] (no mirror, no transpose)", () => {
  const height = 40, width = 56, n = 16, r0 = 17, c0 = 30;
  const data = new Float32Array(2 * height * width);
  data[2 * (r0 * width + c0)] = 1;
  const object = { height, width, data };
  // Integer positions: the pixel lands at (r0 − y + N/2, c0 − x + N/2) and nowhere else.
  const x = Float64Array.from([c0, c0 + 3, c0 - 5]), y = Float64Array.from([r0, r0 - 4, r0 + 2]);
  const patches = extractObjectPatches(object, { x, y }, n);
  for (let m = 0; m < 3; m++) {
    const i = r0 - y[m] + n / 2, j = c0 - x[m] + n / 2;
    for (let k = 0; k < n * n; k++) {
      const want = k === i * n + j ? 1 : 0;
      assertEquals(patches[2 * (m * n * n + k)], want, `position ${m}, pixel ${k}`);
    }
  }
  // Fractional positions: bilinear weights keep the centroid at (r0 − y + N/2, c0 − x + N/2).
  const fx = Float64Array.from([c0 + 0.25, c0 - 2.5]),
    fy = Float64Array.from([r0 - 0.75, r0 + 1.5]);
  const frac = extractObjectPatches(object, { x: fx, y: fy }, n);
  for (let m = 0; m < 2; m++) {
    let total = 0, ci = 0, cj = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const v = frac[2 * (m * n * n + i * n + j)];
        total += v;
        ci += v * i;
        cj += v * j;
      }
    }
    assertAlmostEquals(total, 1, 1e-6);
    assertAlmostEquals(ci, r0 - fy[m] + n / 2, 1e-5, "row centroid");
    assertAlmostEquals(cj, c0 - fx[m] + n / 2, 1e-5, "column centroid");
  }
});

Deno.test("a one-pixel PNG object lands in the written patches Y where its coordinates say", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const height = 44, width = 60, n = 16, r0 = 20, c0 = 37;
    const gray = new Uint8Array(height * width);
    gray[r0 * width + c0] = 255;
    const png = `${dir}/dot.png`;
    Deno.writeFileSync(png, encode({ width, height, data: gray, depth: 8, channels: 1 }));
    const dataset = simulateDataset({
      n,
      object: "image",
      amplitudePng: png,
      scan: "random",
      count: 300,
      nphotons: 1e6,
      noise: "none",
      seed: 5,
      keepPatches: true,
    });
    assertEquals([dataset.object.height, dataset.object.width], [height, width]);
    const { x, y } = dataset.positions;
    const patches = dataset.result.patches!;
    let inside = 0;
    for (let m = 0; m < x.length; m++) {
      const i = r0 - y[m] + n / 2, j = c0 - x[m] + n / 2;
      let total = 0, ci = 0, cj = 0;
      for (let k = 0; k < n * n; k++) {
        const v = patches[2 * (m * n * n + k)];
        total += v;
        ci += v * Math.floor(k / n);
        cj += v * (k % n);
      }
      if (i >= 1 && i <= n - 2 && j >= 1 && j <= n - 2) {
        inside++;
        assertAlmostEquals(total, 1, 1e-5);
        assertAlmostEquals(ci, i, 1e-4, `row of the dot in patch ${m}`);
        assertAlmostEquals(cj, j, 1e-4, `column of the dot in patch ${m}`);
      } else if (i < -1 || i > n || j < -1 || j > n) {
        assertEquals(total, 0, `patch ${m} should not see the dot`);
      }
    }
    assert(inside >= 10, `only ${inside} windows saw the dot`);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

const smallRecipe: SimulationRecipe = {
  n: 16,
  object: "lines",
  objectSize: 48,
  scan: "raster",
  step: 4,
  nphotons: 1e5,
  noise: "poisson",
  seed: 11,
};

Deno.test("a seed gives the same dataset; another seed another scan and noise; object_seed shares the object", () => {
  const a = simulateDataset(smallRecipe), b = simulateDataset(smallRecipe);
  assertEquals(a.result.diffraction, b.result.diffraction);
  assertEquals(a.object.data, b.object.data);
  assertEquals(a.positions, b.positions);
  assertEquals(a.metadata, b.metadata);
  const c = simulateDataset({ ...smallRecipe, seed: 12, objectSeed: 11 });
  assertEquals(c.object.data, a.object.data);
  assert(c.positions.x.some((v, k) => v !== a.positions.x[k]), "another seed moves the scan");
  const d = simulateDataset({ ...smallRecipe, seed: 12 });
  assert(d.object.data.some((v, k) => v !== a.object.data[k]), "another seed, another object");
});

Deno.test("the written NPZ holds every contract key and loads back through loadDataset", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const dataset = simulateDataset({ ...smallRecipe, keepPatches: true });
    const path = `${dir}/sim.npz`;
    writeNpzFile(path, datasetArrays(dataset), { compress: true });
    const loaded = loadDataset(path, { gridsize: 2, onWarning: (w) => assert(false, w) });
    const m = dataset.positions.x.length;
    assertEquals(loaded.patternCount, m);
    assertEquals(loaded.n, 16);
    assertEquals(loaded.diffraction, dataset.result.diffraction);
    assertEquals(loaded.probe, dataset.probe.data);
    assertEquals(loaded.xcoords, dataset.positions.x);
    assertEquals(loaded.ycoordsStart, dataset.positions.y);
    assertEquals(loaded.objectGuess?.data, dataset.object.data);
    assertEquals(loaded.nphotons, 1e5);
    const meta = loaded.metadata;
    assertEquals(meta.seed, 11);
    assertEquals(meta.generator, "ptycho simulate");
    assertEquals((meta.object as Record<string, unknown>).kind, "lines");
    assertEquals((meta.scan as Record<string, unknown>).step, 4);
    assert(typeof meta.version === "string" && typeof meta.intensity_scale === "number");
    assertEquals(m, 8 * 8);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
