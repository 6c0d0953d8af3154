import { assert, assertAlmostEquals, assertEquals, assertThrows } from "../../assert.ts";
import {
  defaultStitchCrop,
  PatchStitcher,
  stitchLayout,
  stitchPatches,
} from "../../../model/infer/stitch.ts";
import { complexFromInterleaved, evaluateReconstruction } from "../../../model/evaluate/metrics.ts";
import { asymmetricObject, extractPatches, rasterScan } from "../evaluate/metrics_helpers.ts";

Deno.test("default stitch crop is 20 at N=64 and scales with N", () => {
  assertEquals([32, 64, 128, 256].map(defaultStitchCrop), [10, 20, 40, 80]);
});

Deno.test("layout covers the scan bounding box ± crop/2 on whole object pixels", () => {
  const layout = stitchLayout([30, 50.5], [40, 41], 64, 20);
  assertEquals(layout.originX, 20);
  assertEquals(layout.originY, 30);
  // Columns floor(30 − 10) … ceil(50.5 + 10) − 1, rows floor(40 − 10) … ceil(41 + 10) − 1.
  assertEquals(layout.width, 61 - 20);
  assertEquals(layout.height, 51 - 30);
  assertThrows(() => stitchLayout([1], [1], 64, 65), RangeError, "stitch crop");
});

Deno.test("integer positions: the stitched image is the object itself, in place", () => {
  const obj = asymmetricObject(96, 80);
  const n = 32;
  const { x, y } = rasterScan(24, 70, 24, 56, 6);
  const patches = extractPatches(obj, x, y, n);
  const out = stitchPatches(patches, x, y, n, 10);
  let maxErr = 0;
  for (let r = 0; r < out.height; r++) {
    for (let c = 0; c < out.width; c++) {
      const i = r * out.width + c;
      if (out.coverage[i] < 0.999) continue;
      const o = ((r + out.originY) * obj.width + c + out.originX) * 2;
      maxErr = Math.max(
        maxErr,
        Math.abs(out.data[2 * i] - obj.data[o]),
        Math.abs(out.data[2 * i + 1] - obj.data[o + 1]),
      );
    }
  }
  assert(maxErr < 1e-5, `max error ${maxErr}`);
  // A 6 px raster with a 10 px crop covers the whole box.
  assert(out.coverage.every((v) => v >= 0.999));
});

Deno.test("adding in batches equals adding all at once", () => {
  const obj = asymmetricObject(80, 80);
  const n = 16;
  const { x, y } = rasterScan(20.3, 60, 18.7, 60, 4.5);
  const patches = extractPatches(obj, x, y, n);
  const all = stitchPatches(patches, x, y, n, 6);
  const stitcher = new PatchStitcher(stitchLayout(x, y, n, 6));
  const per = n * n * 2;
  for (let start = 0; start < x.length; start += 7) {
    const end = Math.min(x.length, start + 7);
    stitcher.add(
      patches.subarray(start * per, end * per),
      x.slice(start, end),
      y.slice(start, end),
    );
  }
  const batched = stitcher.result();
  for (let i = 0; i < all.data.length; i++) assertAlmostEquals(batched.data[i], all.data[i], 1e-6);
});

Deno.test("fractional positions: overlaps averaged, content stays where the scan put it", () => {
  const obj = asymmetricObject(100, 100);
  const n = 32;
  const { x, y } = rasterScan(30.25, 72, 29.6, 72, 5.3);
  const out = stitchPatches(extractPatches(obj, x, y, n), x, y, n, 10);
  const truth = complexFromInterleaved(obj.data, obj.height, obj.width);
  const recon = complexFromInterleaved(out.data, out.height, out.width);
  const scan = { xcoords: x, ycoords: y, stitchCrop: 10 };
  const m = evaluateReconstruction(recon, truth, {
    scan,
    reconOriginXY: [out.originX, out.originY],
    register: true,
  });
  // Bilinear sampling blurs a little, but nothing moves.
  assert(Math.abs(m.shiftXY![0]) < 0.15 && Math.abs(m.shiftXY![1]) < 0.15, `${m.shiftXY}`);
  assert(m.amplitude.ssim > 0.9, `amplitude SSIM ${m.amplitude.ssim}`);
  assert(m.phase.ssim > 0.9, `phase SSIM ${m.phase.ssim}`);
});

Deno.test("orientation guard: a mirrored placement scores clearly worse than the correct one", () => {
  const obj = asymmetricObject(112, 112);
  const n = 32;
  const { x, y } = rasterScan(28, 84, 30, 80, 4);
  const patches = extractPatches(obj, x, y, n);
  const truth = complexFromInterleaved(obj.data, obj.height, obj.width);
  const scan = { xcoords: x, ycoords: y, stitchCrop: 10 };
  const score = (px: number[], py: number[]) => {
    const out = stitchPatches(patches, px, py, n, 10);
    return evaluateReconstruction(
      complexFromInterleaved(out.data, out.height, out.width),
      truth,
      { scan, reconOriginXY: [out.originX, out.originY] },
    );
  };
  const mean = (v: number[]) => v.reduce((s, t) => s + t, 0) / v.length;
  const mx = mean(x), my = mean(y);
  const correct = score(x, y);
  // The mirrored stitcher puts each patch at centre − (pos − mean) instead of centre + (pos − mean).
  const mirrored = score(x.map((v) => 2 * mx - v), y.map((v) => 2 * my - v));
  assert(correct.amplitude.ssim > 0.99, `correct SSIM ${correct.amplitude.ssim}`);
  assert(
    mirrored.amplitude.ssim < correct.amplitude.ssim - 0.3,
    `mirrored amplitude SSIM ${mirrored.amplitude.ssim} vs ${correct.amplitude.ssim}`,
  );
  assert(mirrored.amplitude.mae > 10 * correct.amplitude.mae + 0.01);
  assert(mirrored.phase.mae > 10 * correct.phase.mae + 0.01);
});

Deno.test("stitcher rejects a batch of the wrong size", () => {
  const stitcher = new PatchStitcher(stitchLayout([10], [10], 8, 4));
  assertThrows(() => stitcher.add(new Float32Array(10), [10], [10]), RangeError, "expected 1");
});

Deno.test("per-pixel weights: a zero-weight pixel says nothing, the other patch fills in", () => {
  const n = 8;
  const patches = new Float32Array(2 * n * n * 2);
  for (let i = 0; i < n * n; i++) {
    patches[2 * i] = 1; // patch 0: value 1
    patches[2 * (n * n + i)] = 3; // patch 1: value 3, same place
  }
  const weights = new Float32Array(2 * n * n).fill(1);
  weights.fill(0, 0, n * n / 2); // patch 0 silent in its top half
  const stitcher = new PatchStitcher(stitchLayout([10, 10], [10, 10], n, n));
  stitcher.add(patches, [10, 10], [10, 10], weights);
  const out = stitcher.result();
  assertAlmostEquals(out.data[0], 3, 1e-6);
  assertAlmostEquals(out.data[2 * (out.width * (n - 1))], 2, 1e-6);
  assertAlmostEquals(out.coverage[0], 1, 1e-6);
});

Deno.test("gaps between central crops are filled from the N/2 window, then the whole patch", () => {
  const n = 32, crop = 8;
  // Patch pixel (i, j) holds (j, 100 + b): its column, and which patch it is.
  const patches = new Float32Array(2 * n * n * 2);
  for (let b = 0; b < 2; b++) {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) patches.set([j, 100 + b], ((b * n + i) * n + j) * 2);
    }
  }
  const xs = [20, 50], ys = [30, 30];
  const filled = stitchPatches(patches, xs, ys, n, crop);
  const bare = stitchPatches(patches, xs, ys, n, crop, false);
  const at = (img: typeof filled, col: number) => {
    const k = (30 - img.originY) * img.width + (col - img.originX);
    return [img.data[2 * k], img.data[2 * k + 1], img.coverage[k]];
  };
  // Object column c of the patch at x is patch column c − (x − N/2).
  assertEquals(at(filled, 22), [18, 100, 1], "central crop of patch 0");
  assertEquals(at(filled, 26), [22, 100, 1], "N/2 window of patch 0");
  assertEquals(at(filled, 44), [10, 101, 1], "N/2 window of patch 1");
  assertEquals(at(filled, 30), [26, 100, 1], "whole patch 0");
  assertEquals(at(filled, 35), [(31 + 1) / 2, 100.5, 2], "both whole patches, averaged");
  assertEquals(at(bare, 26), [0, 0, 0], "without fill the gap stays empty");
  assertEquals(at(bare, 22), at(filled, 22));
  // Canvas columns 16 … 53: the central crops cover 16 … 23 and 46 … 53, the rest is filled.
  assertEquals(filled.width, 38);
  assertEquals([filled.filled, bare.filled], [22 * crop, 0]);
});
