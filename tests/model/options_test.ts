/**
 * Model options of issue 15: the offset planes (values, the first convolution's shape, the
 * channel layout), object_big = false (pad + extract, checked against a host computation), the
 * full merge window, and finite-difference gradients through each new path.
 */
import { concat, conv2d, cpuBackend, Rng, setBackend, tensor, tidy } from "../../engine/mod.ts";
import {
  channels,
  Generator,
  initialParameters,
  type NetworkConfig,
  offsetPlanes,
  parameterShapes,
} from "../../model/network.ts";
import {
  canvasSize,
  diffractIntensity,
  extractFromPatch,
  mergePatches,
} from "../../model/physics.ts";
import { LOG_SCALE, PtychoPinn } from "../../model/pinn.ts";
import { assert, assertAlmostEquals, assertEquals } from "../assert.ts";
import { gradCheck, randomArray } from "../engine/gradcheck.ts";

setBackend(cpuBackend());

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string) => {
  assertEquals(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) {
    assert(Math.abs(a[i] - b[i]) <= tol, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
  }
};

/** Bilinear sample of channel k of an interleaved complex n × n image, zero outside. */
function sample(img: Float32Array, n: number, y: number, x: number, k: number): number {
  const y0 = Math.floor(y), x0 = Math.floor(x), fy = y - y0, fx = x - x0;
  const at = (yy: number, xx: number) =>
    yy < 0 || yy >= n || xx < 0 || xx >= n ? 0 : img[2 * (yy * n + xx) + k];
  return (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x0 + 1)) +
    fy * ((1 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1));
}

Deno.test("offset planes: plane 2c + j holds offset component j of member c over N", () => {
  const b = 2, c = 4, n = 8;
  const off = randomArray(new Rng(1), b * c * 2, -3, 3);
  const planes = tidy(() => offsetPlanes(tensor(off, [b, c, 2]), n).dataSync());
  assertEquals(planes.length, b * 2 * c * n * n);
  for (let g = 0; g < b; g++) {
    for (let m = 0; m < c; m++) {
      for (let j = 0; j < 2; j++) {
        const from = ((g * 2 * c) + 2 * m + j) * n * n;
        const want = off[2 * (g * c + m) + j] / n;
        for (let p = 0; p < n * n; p++) assertAlmostEquals(planes[from + p], want, 1e-7);
      }
    }
  }
});

Deno.test("offset planes change only the first convolution: 3C input channels", () => {
  const plain: NetworkConfig = { n: 64, gridsize: 2, nFiltersScale: 2 };
  const withPlanes = { ...plain, offsetPlanes: true };
  assertEquals(channels(withPlanes), { inC: 12, outC: 4 });
  const a = parameterShapes(plain), b = parameterShapes(withPlanes);
  assertEquals([...b.keys()], [...a.keys()]);
  for (const [name, shape] of a) {
    const want = name === "encoder.0.conv1.weight" ? [shape[0], 12, 3, 3] : shape;
    assertEquals(b.get(name), want, name);
  }
});

Deno.test("offset planes: patterns come first; zero plane weights give the plain network", () => {
  const cfg: NetworkConfig = { n: 32, gridsize: 2, nFiltersScale: 0.25, offsetPlanes: true };
  const values = initialParameters(cfg, new Rng(3));
  const w = values.get("encoder.0.conv1.weight")!;
  const [o] = parameterShapes(cfg).get("encoder.0.conv1.weight")!;
  const plainValues = new Map(values);
  const firstFour = new Float32Array(o * 4 * 9);
  for (let oc = 0; oc < o; oc++) {
    firstFour.set(w.subarray(oc * 12 * 9, oc * 12 * 9 + 4 * 9), oc * 4 * 9);
    w.fill(0, oc * 12 * 9 + 4 * 9, (oc + 1) * 12 * 9);
  }
  plainValues.set("encoder.0.conv1.weight", firstFour);
  const rng = new Rng(4);
  const x = randomArray(rng, 2 * 4 * 32 * 32, 0, 1), off = randomArray(rng, 2 * 4 * 2, -4, 4);
  const run = (c: NetworkConfig, v: Map<string, Float32Array>, offsets: Float32Array) =>
    tidy(() => {
      const g = new Generator(c, v);
      const out = g.forward(tensor(x, [2, 4, 32, 32]), tensor(offsets, [2, 4, 2])).dataSync();
      g.dispose();
      return out;
    });
  const planesOut = run(cfg, values, off);
  close(planesOut, run({ ...cfg, offsetPlanes: false }, plainValues, off), 1e-6, "zero planes");
  // With weights on the planes the network reads the offsets.
  w.fill(0.05, 4 * 9, 12 * 9);
  const moved = run(cfg, values, off.map((v) => v + 2));
  assert(run(cfg, values, off).some((v, i) => Math.abs(v - moved[i]) > 1e-4), "offsets unread");
});

Deno.test("object_big = false: one patch per group, padded to M and re-extracted by hand", () => {
  const n = 32, gs = 2, b = 2, c = 4;
  const cfg = { n, gridsize: gs, nFiltersScale: 0.25, objectBig: false };
  assertEquals(channels(cfg), { inC: 4, outC: 1 });
  const rng = new Rng(8);
  const values = initialParameters(cfg, rng);
  values.set(LOG_SCALE, Float32Array.of(Math.log(300)));
  const probe = randomArray(rng, 2 * n * n, 0, 1);
  const model = new PtychoPinn(cfg, values, probe, 300);
  const x = randomArray(rng, b * c * n * n, 0, 1), off = randomArray(rng, b * c * 2, -3.5, 3.5);
  const { patch, got } = tidy(() => {
    const batch = { x: tensor(x, [b, c, n, n]), offsets: tensor(off, [b, c, 2]) };
    return {
      patch: model.patches(batch.x, batch.offsets).dataSync(),
      got: model.intensity(batch).dataSync(),
    };
  });
  assertEquals(patch.length, b * n * n * 2);
  // By hand: O'_c(i, j) = O(i − r_y, j − r_x), bilinear, zero outside the patch (its zero
  // padding to M is inside the canvas, so the canvas edge never matters here).
  const extracted = new Float32Array(b * c * n * n * 2);
  for (let g = 0; g < b; g++) {
    const img = patch.subarray(g * n * n * 2, (g + 1) * n * n * 2);
    for (let m = 0; m < c; m++) {
      const rx = off[2 * (g * c + m)], ry = off[2 * (g * c + m) + 1];
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          for (let k = 0; k < 2; k++) {
            extracted[(((g * c + m) * n + i) * n + j) * 2 + k] = sample(img, n, i - ry, j - rx, k);
          }
        }
      }
    }
  }
  const want = tidy(() =>
    diffractIntensity(tensor(extracted, [b, c, n, n, 2]), tensor(probe, [n, n, 2])).dataSync()
  );
  const peak = Math.max(...want);
  close(got, want, 1e-5 * peak, "intensity");
  model.dispose();
});

Deno.test("merge window full: every pixel of every patch, averaged where patches overlap", () => {
  const n = 8, gs = 2, c = 4, m = canvasSize(n, gs), lo = (m - n) >> 1;
  const rng = new Rng(5);
  const patches = randomArray(rng, c * n * n * 2);
  const off = Float32Array.of(2, 1, -2, 1, 1, -3, -1, 1); // integer shifts: exact bilinear
  const got = tidy(() =>
    mergePatches(tensor(patches, [1, c, n, n, 2]), tensor(off, [1, c, 2]), m, "full").dataSync()
  );
  for (let p = 0; p < m; p++) {
    for (let q = 0; q < m; q++) {
      // Patch c lands at canvas (p, q) = (i + lo − r_y, j + lo − r_x).
      const sum = [0, 0];
      let count = 0;
      for (let k = 0; k < c; k++) {
        const i = p - lo + off[2 * k + 1], j = q - lo + off[2 * k];
        if (i < 0 || i >= n || j < 0 || j >= n) continue;
        count++;
        for (let z = 0; z < 2; z++) sum[z] += patches[((k * n + i) * n + j) * 2 + z];
      }
      for (let z = 0; z < 2; z++) {
        const want = count === 0 ? 0 : sum[z] / count;
        assertAlmostEquals(got[(p * m + q) * 2 + z], want, 1e-5, `(${p}, ${q})`);
      }
    }
  }
});

Deno.test("gradients through extract-from-patch, the full merge and the offset-plane input", () => {
  const n = 8, gs = 2, c = 4, m = canvasSize(n, gs);
  const rng = new Rng(6);
  const off = randomArray(rng, c * 2, -2.5, 2.5);
  const offsets = () => tensor(off, [1, c, 2]);
  const extract = gradCheck(
    ([p]) => extractFromPatch(p, offsets(), gs),
    [randomArray(rng, n * n * 2)],
    [[1, 1, n, n, 2]],
  );
  assert(extract === null, `extract from patch: ${extract}`);
  const merge = gradCheck(
    ([p]) => mergePatches(p, offsets(), m, "full"),
    [randomArray(rng, c * n * n * 2)],
    [[1, c, n, n, 2]],
  );
  assert(merge === null, `full merge: ${merge}`);
  const conv = gradCheck(
    ([x, w, bias]) => conv2d(concat([x, offsetPlanes(offsets(), n)], 1), w, bias, "same", "none"),
    [randomArray(rng, c * n * n), randomArray(rng, 3 * 3 * c * 9), randomArray(rng, 3)],
    [[1, c, n, n], [3, 3 * c, 3, 3], [3]],
  );
  assert(conv === null, `first convolution with offset planes: ${conv}`);
});
