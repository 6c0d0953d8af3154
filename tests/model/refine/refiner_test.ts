/**
 * The Refiner on small noise-free scans (tests/model/tiny_dataset.ts, N = 16): a known object is
 * recovered, the probe power is conserved, position refinement lowers the residual of a jittered
 * scan, runs are reproducible, and WebGPU follows the CPU.
 */
import { assert, assertAlmostEquals, assertEquals } from "../../assert.ts";
import { cpuBackend, setBackend } from "../../../engine/mod.ts";
import { createWebGpuBackend } from "../../../engine/webgpu/backend.ts";
import type { NpyArray } from "../../../io/npy.ts";
import { canvasLayout } from "../../../model/refine/geometry.ts";
import { flatObject } from "../../../model/refine/init.ts";
import {
  type IterationReport,
  type RefineOptions,
  Refiner,
  type RefineSnapshot,
} from "../../../model/refine/refiner.ts";
import {
  alignChannels,
  channelsMetrics,
  complexFromInterleaved,
} from "../../../model/evaluate/metrics.ts";
import { tinyDataset } from "../tiny_dataset.ts";

const N = 16;
const arrays = tinyDataset({ n: N, side: 6, seed: 3 });
const xs = arrays.xcoords.data as Float64Array, ys = arrays.ycoords.data as Float64Array;
const amplitude = arrays.diffraction.data as Float32Array;
const probe = arrays.probeGuess.data as Float32Array;
const truth = arrays.objectGuess as NpyArray & { data: Float32Array };

const BASE: RefineOptions = {
  batchSize: 8,
  loss: "amplitude",
  refineProbe: false,
  refinePositions: false,
  seed: 1,
};

/** Runs `iterations` iterations on the current backend; returns the reports and the state. */
async function runRefiner(
  options: Partial<RefineOptions>,
  iterations: number,
  start: { x?: Float64Array; y?: Float64Array; probe?: Float32Array } = {},
): Promise<{ reports: IterationReport[]; state: RefineSnapshot }> {
  const x = start.x ?? xs, y = start.y ?? ys;
  const layout = canvasLayout(x, y, N);
  const refiner = new Refiner(
    { n: N, amplitude, xcoords: x, ycoords: y },
    { layout, object: flatObject(layout), probe: start.probe ?? probe },
    { ...BASE, ...options },
  );
  try {
    const reports: IterationReport[] = [];
    for (let i = 0; i < iterations; i++) reports.push(await refiner.step());
    return { reports, state: await refiner.snapshot() };
  } finally {
    refiner.dispose();
  }
}

function ssim(state: RefineSnapshot): { amplitude: number; phase: number } {
  const { layout } = state;
  const ch = alignChannels(
    complexFromInterleaved(state.object, layout.height, layout.width),
    complexFromInterleaved(truth.data, truth.shape[0], truth.shape[1]),
    {
      scan: { xcoords: xs, ycoords: ys, stitchCrop: N / 2 },
      reconOriginXY: [layout.originX, layout.originY],
    },
  );
  const m = channelsMetrics(ch);
  return { amplitude: m.amplitude.ssim, phase: m.phase.ssim };
}

function power(z: Float32Array): number {
  let s = 0;
  for (const v of z) s += v * v;
  return s;
}

for (const loss of ["amplitude", "poisson"] as const) {
  Deno.test(`${loss} loss: a known object is recovered from noise-free data`, async () => {
    setBackend(cpuBackend());
    const { reports, state } = await runRefiner({ loss }, 30);
    const [first, last] = [reports[0].rFactor, reports[29].rFactor];
    assert(last < first / 100, `R ${first} → ${last}`);
    const s = ssim(state);
    assert(s.amplitude >= 0.95 && s.phase >= 0.97, `SSIM ${s.amplitude} / ${s.phase}`);
  });
}

Deno.test("probe refinement keeps the probe power and fits a blurred probe", async () => {
  setBackend(cpuBackend());
  // A wrong start: the true probe blurred (3×3 box) and 3× too strong.
  const blurred = new Float32Array(probe.length);
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < N; j++) {
      for (let di = -1; di <= 1; di++) {
        for (let dj = -1; dj <= 1; dj++) {
          const y = (i + di + N) % N, x = (j + dj + N) % N;
          for (let c = 0; c < 2; c++) {
            blurred[2 * (i * N + j) + c] += 3 * probe[2 * (y * N + x) + c] / 9;
          }
        }
      }
    }
  }
  let sumA2 = 0;
  for (const a of amplitude) sumA2 += a * a;
  // Flat start: the probe power that fits the data is the mean Σ A² per pattern.
  const target = sumA2 / xs.length;
  const fixed = await runRefiner({}, 20, { probe: blurred });
  const refined = await runRefiner({ refineProbe: true, probeStart: 2 }, 20, { probe: blurred });
  assertAlmostEquals(power(fixed.state.probe), target, 1e-4 * target);
  assertAlmostEquals(power(refined.state.probe), target, 1e-4 * target);
  let moved = 0;
  for (let i = 0; i < probe.length; i++) {
    moved += Math.abs(refined.state.probe[i] - fixed.state.probe[i]);
  }
  assert(moved > 1e-2 * Math.sqrt(target), "the probe did not change");
  const rFixed = fixed.reports[19].rFactor, rRefined = refined.reports[19].rFactor;
  assert(rRefined < rFixed / 2, `R-factor fixed ${rFixed}, refined ${rRefined}`);
  // With a circular support the refined probe is zero outside it, its power still the target.
  const supported = await runRefiner({ refineProbe: true, probeStart: 0, probeSupport: 4 }, 2, {
    probe: blurred,
  });
  assertAlmostEquals(power(supported.state.probe), target, 1e-4 * target);
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < N; j++) {
      if ((i - N / 2) ** 2 + (j - N / 2) ** 2 > 16) {
        const k = 2 * (i * N + j);
        assertEquals(
          Math.abs(supported.state.probe[k]) + Math.abs(supported.state.probe[k + 1]),
          0,
        );
      }
    }
  }
});

Deno.test("position refinement lowers the residual of a jittered scan", async () => {
  setBackend(cpuBackend());
  let k = 7;
  const noise = () => ((k = (k * 16807) % 2147483647) / 2147483647) * 2 - 1;
  const x = xs.map((v) => v + noise()), y = ys.map((v) => v + noise());
  const fixed = await runRefiner({}, 40, { x, y });
  const refined = await runRefiner({ refinePositions: true, positionStart: 10 }, 40, { x, y });
  const rFixed = fixed.reports[39].rFactor, rRefined = refined.reports[39].rFactor;
  assert(rRefined < rFixed / 3, `R-factor fixed ${rFixed}, refined ${rRefined}`);
  let meanX = 0, meanY = 0, most = 0;
  for (let j = 0; j < x.length; j++) {
    meanX += refined.state.xcoords[j] - x[j];
    meanY += refined.state.ycoords[j] - y[j];
    most = Math.max(most, Math.abs(refined.state.xcoords[j] - x[j]));
  }
  assertAlmostEquals(meanX / x.length, 0, 1e-9);
  assertAlmostEquals(meanY / x.length, 0, 1e-9);
  assert(most > 0.05, `largest x move ${most}`);
  // One position update: each step clamped to 0.5 px before the mean step is removed.
  const once = await runRefiner({ refinePositions: true, positionStart: 1 }, 2, { x, y });
  let largest = 0;
  for (let j = 0; j < x.length; j++) {
    largest = Math.max(largest, Math.abs(once.state.xcoords[j] - x[j]));
    largest = Math.max(largest, Math.abs(once.state.ycoords[j] - y[j]));
  }
  assert(largest > 0 && largest <= 1 + 1e-9, `largest move ${largest}`);
});

Deno.test("the same seed gives bit-identical runs; another seed another batch order", async () => {
  setBackend(cpuBackend());
  const opts = { refineProbe: true, probeStart: 1, refinePositions: true, positionStart: 1 };
  const live = cpuBackend().memory().liveStorages;
  const a = await runRefiner(opts, 3);
  assertEquals(cpuBackend().memory().liveStorages, live, "storages left after dispose()");
  const b = await runRefiner(opts, 3);
  assertEquals(a.state.object, b.state.object);
  assertEquals(a.state.probe, b.state.probe);
  assertEquals(a.state.xcoords, b.state.xcoords);
  const c = await runRefiner({ ...opts, seed: 2 }, 3);
  assert(c.state.object.some((v, i) => v !== a.state.object[i]));
});

const gpu = await createWebGpuBackend();
Deno.test({
  name: "webgpu: three iterations (probe and positions refined) follow the CPU",
  ignore: gpu === null && Deno.env.get("PTYCHO_REQUIRE_WEBGPU") !== "1",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    if (gpu === null) throw new Error("PTYCHO_REQUIRE_WEBGPU=1 but no WebGPU adapter was found");
    const opts = { refineProbe: true, probeStart: 1, refinePositions: true, positionStart: 1 };
    setBackend(cpuBackend());
    const c = await runRefiner(opts, 3);
    setBackend(gpu);
    const g = await runRefiner(opts, 3).finally(() => setBackend(cpuBackend()));
    c.reports.forEach((r, i) => {
      assertAlmostEquals(g.reports[i].rFactor, r.rFactor, 1e-3 * r.rFactor);
    });
    const close = (a: ArrayLike<number>, b: ArrayLike<number>, what: string) => {
      let scale = 0, worst = 0;
      for (let i = 0; i < a.length; i++) scale = Math.max(scale, Math.abs(b[i]));
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
      assert(worst <= 1e-3 * scale, `${what}: worst difference ${worst} (scale ${scale})`);
    };
    close(g.state.object, c.state.object, "object");
    close(g.state.probe, c.state.probe, "probe");
    close(g.state.xcoords, c.state.xcoords, "x");
  },
});
