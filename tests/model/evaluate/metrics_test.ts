import { assert, assertAlmostEquals, assertEquals } from "../../assert.ts";
import {
  complexFromInterleaved,
  type ComplexImage,
  evaluateReconstruction,
  metricsToJson,
} from "../../../model/evaluate/metrics.ts";
import {
  firstBelowThreshold,
  fourierRingCorrelation,
  type RealImage,
  structuralSimilarity,
} from "../../../model/evaluate/measures.ts";
import { removePlane, translateComplex } from "../../../model/evaluate/align.ts";
import { estimateShift } from "../../../model/evaluate/register.ts";
import { fft1d } from "../../../model/evaluate/fft.ts";
import { readNpyFile } from "../../../io/npy.ts";
import { asymmetricObject, seededUniform } from "./metrics_helpers.ts";

const FIXTURES = new URL("../../../fixtures/metrics/", import.meta.url);

function truthImage(h = 90, w = 100): ComplexImage {
  const obj = asymmetricObject(h, w);
  return complexFromInterleaved(obj.data, h, w);
}

Deno.test("FFT of any length matches the direct DFT, and the inverse undoes it", () => {
  const rand = seededUniform(3);
  for (const n of [1, 2, 3, 5, 7, 8, 12, 17, 64, 100]) {
    const re = Array.from({ length: n }, () => rand() - 0.5);
    const im = Array.from({ length: n }, () => rand() - 0.5);
    const f = fft1d(re, im);
    for (let k = 0; k < n; k++) {
      let sr = 0, si = 0;
      for (let t = 0; t < n; t++) {
        const a = (-2 * Math.PI * k * t) / n;
        sr += re[t] * Math.cos(a) - im[t] * Math.sin(a);
        si += re[t] * Math.sin(a) + im[t] * Math.cos(a);
      }
      assertAlmostEquals(f.re[k], sr, 1e-10, `n=${n} k=${k}`);
      assertAlmostEquals(f.im[k], si, 1e-10, `n=${n} k=${k}`);
    }
    const back = fft1d(f.re, f.im, true);
    for (let t = 0; t < n; t++) assertAlmostEquals(back.re[t], re[t], 1e-12);
  }
});

Deno.test("identical images give perfect metrics", () => {
  const truth = truthImage();
  const m = evaluateReconstruction(truth, truth);
  for (const c of [m.amplitude, m.phase]) {
    assertEquals(c.mae, 0);
    assertEquals(c.mse, 0);
    assertEquals(c.psnr255, Infinity);
    assertEquals(c.psnrRange, Infinity);
    assertAlmostEquals(c.ssim, 1, 1e-12);
    assert(c.frc.every((v) => Math.abs(v - 1) < 1e-9), "FRC is 1 on every ring");
    assertEquals(c.frc50, c.frc.length);
  }
  assertEquals(m.shape, [86, 96]);
  const json = metricsToJson(m) as { amplitude: { psnr_255: unknown; ssim: number } };
  assertEquals(json.amplitude.psnr_255, null);
});

Deno.test("amplitude scale and a phase plane plus offset are forgiven, as upstream aligns them", () => {
  const truth = truthImage();
  const re = new Float64Array(truth.re.length);
  const im = new Float64Array(truth.re.length);
  for (let r = 0; r < truth.height; r++) {
    for (let c = 0; c < truth.width; c++) {
      const i = r * truth.width + c;
      const phase = 0.01 * c - 0.008 * r + 0.3;
      re[i] = 2.5 * (truth.re[i] * Math.cos(phase) - truth.im[i] * Math.sin(phase));
      im[i] = 2.5 * (truth.re[i] * Math.sin(phase) + truth.im[i] * Math.cos(phase));
    }
  }
  const m = evaluateReconstruction({ ...truth, re, im }, truth);
  assertAlmostEquals(m.amplitudeScale, 0.4, 1e-9);
  assert(m.amplitude.mae < 1e-12 && m.phase.mae < 1e-9, `${m.amplitude.mae} ${m.phase.mae}`);
  assertAlmostEquals(m.phase.ssim, 1, 1e-9);
});

Deno.test("plane removal leaves zero for a pure plane", () => {
  const h = 9, w = 13;
  const data = new Float64Array(h * w);
  for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) data[r * w + c] = 0.3 * c - 1.1 * r + 4;
  assert(removePlane({ height: h, width: w, data }).data.every((v) => Math.abs(v) < 1e-12));
});

Deno.test("a known shift is penalised more the larger it is, and registration finds it", () => {
  const truth = truthImage(120, 120);
  const scores = [0, 1, 2, 4].map((s) =>
    evaluateReconstruction(translateComplex(truth, s, 0), truth)
  );
  for (let i = 1; i < scores.length; i++) {
    assert(scores[i].amplitude.mae > scores[i - 1].amplitude.mae, "MAE grows with the shift");
    assert(scores[i].amplitude.ssim < scores[i - 1].amplitude.ssim, "SSIM falls with the shift");
    assert(scores[i].phase.ssim < scores[i - 1].phase.ssim, "phase SSIM falls with the shift");
  }
  assert(scores[3].amplitude.ssim < 0.9, `4 px off: SSIM ${scores[3].amplitude.ssim}`);
  for (const [tx, ty] of [[3, -2], [1.5, 0.25], [-0.6, 2.4]]) {
    const moved = translateComplex(truth, tx, ty);
    const [ex, ey] = estimateShift(truth, moved);
    assert(Math.abs(ex - tx) < 0.06 && Math.abs(ey - ty) < 0.06, `(${tx}, ${ty}) → (${ex}, ${ey})`);
    const m = evaluateReconstruction(moved, truth, { register: true });
    assert(m.amplitude.ssim > 0.99, `registered SSIM ${m.amplitude.ssim}`);
    assert(m.amplitude.ssim > evaluateReconstruction(moved, truth).amplitude.ssim);
  }
});

Deno.test("SSIM equals scikit-image's structural_similarity on the committed fixtures", () => {
  const expected = JSON.parse(Deno.readTextFileSync(new URL("expected.json", FIXTURES))) as {
    cases: { name: string; shape: [number, number]; data_range: number; ssim: number }[];
  };
  assert(expected.cases.length >= 4);
  const load = (name: string): RealImage => {
    const a = readNpyFile(new URL(name, FIXTURES).pathname);
    return {
      height: a.shape[0],
      width: a.shape[1],
      data: Float64Array.from(a.data as Float32Array),
    };
  };
  for (const c of expected.cases) {
    const a = load(`ssim_${c.name}_a.npy`);
    const b = load(`ssim_${c.name}_b.npy`);
    assertEquals([a.height, a.width], c.shape);
    assertAlmostEquals(structuralSimilarity(a, b, c.data_range), c.ssim, 1e-9, c.name);
  }
});

Deno.test("FRC of two independent noise images is low; of an image with itself, 1", () => {
  const rand = seededUniform(11);
  const noise = (): RealImage => ({
    height: 64,
    width: 64,
    data: Float64Array.from({ length: 64 * 64 }, () => rand()),
  });
  const a = noise(), b = noise();
  const curve = fourierRingCorrelation(a, b);
  assertEquals(curve.length, Math.round(Math.hypot(32, 32)) + 1);
  const high = curve.slice(2);
  const mean = high.reduce((s, v) => s + v, 0) / high.length;
  assert(mean < 0.2, `mean FRC of independent noise ${mean}`);
  // Ring 0 holds only the (shared, positive) means; beyond it the curve is below 0.5 at once.
  assert(firstBelowThreshold(curve, 0.5) <= 1.5, `FRC50 ${firstBelowThreshold(curve, 0.5)}`);
  assert(fourierRingCorrelation(a, a).every((v) => Math.abs(v - 1) < 1e-9));
});

Deno.test("threshold crossing interpolates between rings and saturates at the curve length", () => {
  assertAlmostEquals(firstBelowThreshold([1, 0.9, 0.7, 0.3, 0.1], 0.5), 2.5, 1e-12);
  assertAlmostEquals(firstBelowThreshold([1, 0.8, 0.6, 0.55], 0.5), 4, 1e-12);
  assertEquals(firstBelowThreshold([0.2, 0.9], 0.5), 0);
  assertEquals(firstBelowThreshold([NaN, 1, 0.4], 0.5), 1 + (0.5 / 0.6));
});

Deno.test("a flat ground-truth phase leaves the phase FRC and range-PSNR undefined", () => {
  const truth = truthImage(40, 40);
  const flat = { ...truth, re: truth.re.map((_, i) => Math.hypot(truth.re[i], truth.im[i])) };
  flat.im = new Float64Array(truth.im.length);
  const m = evaluateReconstruction(truth, flat);
  assert(Number.isNaN(m.phase.frc50) && Number.isNaN(m.phase.psnrRange));
  assert(Number.isFinite(m.phase.mae) && Number.isFinite(m.phase.ssim));
  const json = metricsToJson(m) as { phase: { frc50: unknown } };
  assertEquals(json.phase.frc50, null);
});
