/**
 * Augmentation by the probe's symmetries (model/augment.ts): a transformed group equals the scan of
 * the transformed object at the transformed positions, computed by the simulator's physics.
 */
import { Rng } from "../../engine/mod.ts";
import {
  allowedTransforms,
  probeAsymmetry,
  transformGroup,
  transformName,
} from "../../model/augment.ts";
import { prepareDataset } from "../../model/batches.ts";
import { type GroupingOptions, groupPositions } from "../../model/grouping.ts";
import { idealDiskProbe } from "../../model/simulate/probe.ts";
import { extractObjectPatches, farFieldIntensity } from "../../model/simulate/simulate.ts";
import type { InterleavedImage } from "../../io/image.ts";
import { readDataset } from "../../io/dataset.ts";
import { encodeNpz, NpzReader } from "../../io/npz.ts";
import { assert, assertAlmostEquals, assertEquals } from "../assert.ts";
import { tinyDataset } from "./tiny_dataset.ts";

const N = 16, W = 40;

/** A random complex W × W object. */
function randomObject(seed: number): InterleavedImage {
  const rng = new Rng(seed);
  const data = new Float32Array(2 * W * W);
  for (let i = 0; i < W * W; i++) {
    const a = 0.5 + 0.5 * rng.uniform(), p = 2 * rng.uniform() - 1;
    data[2 * i] = a * Math.cos(p);
    data[2 * i + 1] = a * Math.sin(p);
  }
  return { height: W, width: W, data };
}

/** The object and positions moved by `code` (flip x about (W−1)/2, flip y, then transpose). */
function transformScene(
  code: number,
  obj: InterleavedImage,
  xs: Float64Array,
  ys: Float64Array,
): { obj: InterleavedImage; xs: Float64Array; ys: Float64Array } {
  const data = new Float32Array(obj.data.length);
  for (let r = 0; r < W; r++) {
    for (let c = 0; c < W; c++) {
      let sr = r, sc = c;
      if (code & 4) [sr, sc] = [sc, sr];
      if (code & 2) sr = W - 1 - sr;
      if (code & 1) sc = W - 1 - sc;
      data[2 * (r * W + c)] = obj.data[2 * (sr * W + sc)];
      data[2 * (r * W + c) + 1] = obj.data[2 * (sr * W + sc) + 1];
    }
  }
  // A patch's pixel i sits at x − N/2 + i; flipping it about the disk's centre (N − 1)/2 along
  // with the object about (W − 1)/2 puts the position at W − x.
  let tx = xs.map((x) => (code & 1 ? W - x : x)), ty = ys.map((y) => (code & 2 ? W - y : y));
  if (code & 4) [tx, ty] = [ty, tx];
  return { obj: { height: W, width: W, data }, xs: tx, ys: ty };
}

/** Diffraction amplitudes (C, N, N) of the group's members, in its member order. */
function amplitudes(
  obj: InterleavedImage,
  probe: InterleavedImage,
  xs: Float64Array,
  ys: Float64Array,
  members: Int32Array,
): Float32Array {
  const x = Float64Array.from(members, (i) => xs[i]), y = Float64Array.from(members, (i) => ys[i]);
  return farFieldIntensity(extractObjectPatches(obj, { x, y }, N), probe).map(Math.sqrt);
}

Deno.test("a transformed group is the scan of the transformed object, for all 8 transforms", () => {
  const probe = idealDiskProbe(N, 1.5); // complex (curved), symmetric under every transform
  const obj = randomObject(3);
  // Four positions at fractional offsets around (20, 19), none on a symmetry axis of another.
  const xs = Float64Array.of(18.25, 23.5, 21.75, 16.5), ys = Float64Array.of(15.5, 17.25, 22.5, 21);
  const opts: GroupingOptions = {
    nGroups: 1,
    gridsize: 2,
    neighbours: 3,
    order: "angle",
    seedMember: "include",
  };
  const group = groupPositions(xs, ys, opts, new Rng(1));
  const base = amplitudes(obj, probe, xs, ys, group.indices);
  for (let code = 0; code < 8; code++) {
    const patterns = base.slice(), offsets = group.offsets.slice();
    transformGroup(code, patterns, offsets, N, "angle");
    const moved = transformScene(code, obj, xs, ys);
    const want = groupPositions(moved.xs, moved.ys, opts, new Rng(1));
    const name = transformName(code);
    for (let i = 0; i < offsets.length; i++) {
      assertAlmostEquals(offsets[i], want.offsets[i], 1e-5, `${name}: offset ${i}`);
    }
    const expect = amplitudes(moved.obj, probe, moved.xs, moved.ys, want.indices);
    let err = 0, norm = 0;
    for (let i = 0; i < expect.length; i++) {
      err = Math.max(err, Math.abs(patterns[i] - expect[i]));
      norm = Math.max(norm, expect[i]);
    }
    assert(err <= 1e-4 * norm, `${name}: patterns differ by ${err} (peak ${norm})`);
  }
});

Deno.test("the angle order is restored after a transform that permutes the members", () => {
  // A square group: flip x maps the member at angle 0 (right) to angle π (left).
  const patterns = Float32Array.from({ length: 4 * N * N }, (_, i) => Math.floor(i / (N * N)));
  const offsets = Float32Array.of(-2, 0, 0, -2, 2, 0, 0, 2); // −(pos − centre): +x, +y, −x, −y
  transformGroup(1, patterns, offsets, N, "angle");
  assertEquals([...offsets].map((v) => v + 0), [-2, 0, 0, -2, 2, 0, 0, 2]);
  // The member that was at +x (pattern 0) now sits at −x: third in angle order.
  assertEquals([0, 1, 2, 3].map((m) => patterns[m * N * N]), [2, 1, 0, 3]);
  // Random order keeps the slots and only moves the offsets.
  const random = Float32Array.of(-2, 0, 0, -2, 2, 0, 0, 2);
  transformGroup(1, patterns.slice(), random, N, "random");
  assertEquals([...random].map((v) => v + 0), [2, 0, 0, -2, -2, 0, 0, 2]);
});

Deno.test("allowed transforms follow the probe's symmetry", () => {
  const disk = idealDiskProbe(N).data;
  assertEquals(allowedTransforms("auto", disk, N), [0, 1, 2, 3, 4, 5, 6, 7]);
  assertEquals(allowedTransforms("none", disk, N), [0]);
  // Two bumps mirrored about the middle column: still symmetric left–right (about (N − 1)/2),
  // not up–down, and no longer under a transpose or a turn.
  const mirrored = disk.slice();
  mirrored[2 * (2 * N + N / 2 - 1)] += 0.5;
  mirrored[2 * (2 * N + N / 2)] += 0.5;
  assert(probeAsymmetry(mirrored, N, 2) > 0.01);
  assertEquals(allowedTransforms("auto", mirrored, N), [0, 1]);
  // A probe centred on pixel N/2 is symmetric about that centre (i ↦ N − i).
  const odd = new Float32Array(2 * N * N);
  for (let r = 0; r < N; r++) {
    for (let c = 0; c < N; c++) {
      odd[2 * (r * N + c)] = Math.exp(-((r - N / 2) ** 2 + (c - N / 2) ** 2) / 8);
    }
  }
  assertEquals(allowedTransforms("auto", odd, N).length, 8);
  // ...unless it reaches row and column 0, which a flip about N/2 would take from outside.
  for (let i = 0; i < N; i++) odd[2 * i] = odd[2 * i * N] = 0.5;
  assertEquals(allowedTransforms("auto", odd, N), [0, 4]);
  // A small bump breaks every symmetry beyond the tolerance.
  const bumped = disk.slice();
  bumped[2 * (5 * N + 4)] += 0.2;
  assertEquals(allowedTransforms("auto", bumped, N), [0]);
});

Deno.test("augmented batches: codes are seeded per epoch and none without augmentation", () => {
  // tinyDataset's probe is centred on (N − 1)/2 and radially symmetric: all 8 transforms.
  const data = readDataset(NpzReader.fromBytes(encodeNpz(tinyDataset({ n: 16 })), "tiny.npz"));
  const opts = { nGroups: 12, gridsize: 2, neighbours: 4, seed: 3, order: "angle" } as const;
  const plain = prepareDataset(data, opts);
  assertEquals(plain.epochTransforms(42, 0), null);
  const aug = prepareDataset(data, { ...opts, augment: "auto" });
  const a = aug.epochTransforms(42, 0)!, b = aug.epochTransforms(42, 0)!;
  assertEquals(a, b);
  assertEquals(a.length, aug.count);
  assert(a.join() !== aug.epochTransforms(42, 1)!.join(), "epochs draw different codes");
  assert(new Set(a).size > 2, `codes ${a}`);
  // The identity codes give exactly the plain batch.
  const order = [0, 3, 5];
  const x0 = plain.batch(order).x.dataSync(), x1 = aug.batch(order, [0, 0, 0]).x.dataSync();
  assertEquals([...x1], [...x0]);
  const x2 = aug.batch(order, [1, 0, 0]).x.dataSync();
  assert([...x2].some((v, i) => v !== x0[i]), "a flip changes the first group");
  assertEquals([...x2.slice(4 * 256)], [...x0.slice(4 * 256)]);
});
