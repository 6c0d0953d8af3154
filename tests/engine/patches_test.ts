/** cropPatches / scatterAddPatches on the CPU: values, adjointness, gradients, shape errors. */
import { assertAlmostEquals, assertEquals, assertThrows } from "../assert.ts";
import {
  backward,
  cropPatches,
  mul,
  Rng,
  scatterAddPatches,
  sum,
  type Tensor,
  tensor,
  tidy,
} from "../../engine/mod.ts";
import { gradCheck, randomArray } from "./gradcheck.ts";

const rng = new Rng(11);
// Corners (row, column): inside, overlapping the first, leaving the canvas on every side, and
// fractional values (floored: 2.7 → 2, −0.5 → −1).
const CORNERS = Float32Array.of(1, 2, 2.7, 3.2, -2, 5, 4, -0.5, 6, 7);

Deno.test("cropPatches cuts the floored windows of an asymmetric canvas, zero outside", () => {
  const h = 7, w = 9, n = 3;
  const canvas = Float32Array.from({ length: h * w * 2 }, (_, i) => i + 1);
  const out = tidy(() =>
    cropPatches(tensor(canvas, [h, w, 2]), tensor(CORNERS, [5, 2]), n).dataSync()
  );
  for (let b = 0; b < 5; b++) {
    const r0 = Math.floor(CORNERS[2 * b]), c0 = Math.floor(CORNERS[2 * b + 1]);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        for (let c = 0; c < 2; c++) {
          const y = r0 + i, x = c0 + j;
          const inside = y >= 0 && y < h && x >= 0 && x < w;
          const expected = inside ? canvas[(y * w + x) * 2 + c] : 0;
          assertEquals(out[((b * n + i) * n + j) * 2 + c], expected, `b${b} (${i},${j},${c})`);
        }
      }
    }
  }
});

Deno.test("scatterAddPatches is the adjoint of cropPatches (real and complex)", () => {
  for (const inner of [1, 2]) {
    const h = 8, w = 6, n = 4, b = 5;
    const canvasShape = inner === 2 ? [h, w, 2] : [h, w];
    const patchShape = inner === 2 ? [b, n, n, 2] : [b, n, n];
    const x = randomArray(rng, h * w * inner), y = randomArray(rng, b * n * n * inner);
    const [cx, sy] = tidy(() => {
      const corners = tensor(CORNERS, [b, 2]);
      return [
        cropPatches(tensor(x, canvasShape), corners, n).dataSync(),
        scatterAddPatches(tensor(y, patchShape), corners, h, w).dataSync(),
      ];
    });
    let lhs = 0, rhs = 0;
    for (let i = 0; i < y.length; i++) lhs += cx[i] * y[i];
    for (let i = 0; i < x.length; i++) rhs += x[i] * sy[i];
    assertAlmostEquals(lhs, rhs, 1e-4 * Math.abs(lhs) + 1e-5);
  }
});

Deno.test("scatterAddPatches sums overlapping windows", () => {
  const ones = new Float32Array(2 * 2 * 2).fill(1);
  const out = tidy(() =>
    scatterAddPatches(tensor(ones, [2, 2, 2]), tensor([0, 0, 1, 1], [2, 2]), 3, 3).dataSync()
  );
  assertEquals([...out], [1, 1, 0, 1, 2, 1, 0, 1, 1]);
});

Deno.test("cropPatches and scatterAddPatches gradients match finite differences", () => {
  const corners = (xs: Tensor[]) => tensor(CORNERS, [5, 2], { backend: xs[0].backend });
  const crop = gradCheck(
    (xs) => cropPatches(xs[0], corners(xs), 3),
    [randomArray(rng, 7 * 9 * 2)],
    [[7, 9, 2]],
  );
  assertEquals(crop, null);
  const scatter = gradCheck(
    (xs) => scatterAddPatches(xs[0], corners(xs), 7, 9),
    [randomArray(rng, 5 * 3 * 3)],
    [[5, 3, 3]],
  );
  assertEquals(scatter, null);
  // The gradient of a crop is the scatter of the output gradient (second-order path).
  const g = tidy(() => {
    const canvas = tensor(randomArray(rng, 7 * 9), [7, 9], { requiresGrad: true });
    backward(sum(mul(cropPatches(canvas, tensor(CORNERS, [5, 2]), 3), 2)));
    return canvas.grad!.dataSync();
  });
  const cover = tidy(() =>
    scatterAddPatches(
      tensor(new Float32Array(45).fill(2), [5, 3, 3]),
      tensor(CORNERS, [5, 2]),
      7,
      9,
    )
      .dataSync()
  );
  assertEquals([...g], [...cover]);
});

Deno.test("cropPatches and scatterAddPatches reject bad shapes", () => {
  tidy(() => {
    const corners = tensor(CORNERS, [5, 2]);
    assertThrows(
      () => cropPatches(tensor(new Float32Array(27), [3, 3, 3]), corners, 2),
      Error,
      "canvas",
    );
    assertThrows(
      () => cropPatches(tensor(new Float32Array(9), [3, 3]), tensor([1, 2, 3], [3]), 2),
      Error,
      "corners",
    );
    assertThrows(
      () => scatterAddPatches(tensor(new Float32Array(16), [4, 2, 2]), corners, 3, 3),
      Error,
      "corners",
    );
  });
});
