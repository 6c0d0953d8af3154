/**
 * Grouping options of issue 15: members ordered by angle around the group centre, the seed in
 * the group, K > C, and the permutation invariance that the angle order gives.
 */
import { Rng } from "../../engine/mod.ts";
import {
  angleOrder,
  type GroupingOptions,
  groupPositions,
  type Groups,
  nearestNeighbours,
} from "../../model/grouping.ts";
import { assert, assertEquals } from "../assert.ts";

/** `count` positions: a jittered raster (jitter 0 gives exact distance ties) of spacing 5. */
function scan(count: number, jitter: number, seed = 3): { xs: Float64Array; ys: Float64Array } {
  const rng = new Rng(seed);
  const xs = new Float64Array(count), ys = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    xs[i] = 20 + 5 * (i % 7) + jitter * (rng.uniform() - 0.5);
    ys[i] = 20 + 5 * Math.floor(i / 7) + jitter * (rng.uniform() - 0.5);
  }
  return { xs, ys };
}

/** Each group as the text of its member indices (mapped by `map`) and offsets, in group order. */
function describe(g: Groups, map: (i: number) => number = (i) => i): string[] {
  return Array.from({ length: g.count }, (_, k) => {
    const members = [...g.indices.subarray(k * g.size, (k + 1) * g.size)].map(map);
    const offsets = [...g.offsets.subarray(2 * k * g.size, 2 * (k + 1) * g.size)];
    return `${members.join(",")} | ${offsets.join(",")}`;
  });
}

Deno.test("angle order: from +x by angle, then by distance, then by index", () => {
  // Centre (10, 10): index 0 lies at 3π/2 (y points down: above the centre), 1 at π, 2 at 0,
  // 3 at π/2; 4 and 5 share angle 0 with 2 but lie nearer; 6 duplicates 5.
  const xs = Float64Array.of(10, 8, 12, 10, 11, 10.5, 10.5);
  const ys = Float64Array.of(8, 10, 10, 12, 10, 10, 10);
  assertEquals(angleOrder(xs, ys, [0, 1, 2, 3], 10, 10), [2, 3, 1, 0]);
  assertEquals(angleOrder(xs, ys, [3, 2, 6, 4, 5, 0], 10, 10), [5, 6, 4, 2, 3, 0]);
  // An angle just below 2π comes last, not first.
  assertEquals(angleOrder(Float64Array.of(12, 12), Float64Array.of(9.999, 10), [0, 1], 10, 10), [
    1,
    0,
  ]);
});

Deno.test("angle order through groupPositions: every group of a 4-point scan is [2, 3, 1, 0]", () => {
  const xs = Float64Array.of(10, 8, 12, 10), ys = Float64Array.of(8, 10, 10, 12);
  for (const seedMember of ["exclude", "include"] as const) {
    const opts = { nGroups: 4, gridsize: 2, neighbours: 4, order: "angle" as const, seedMember };
    const g = groupPositions(xs, ys, opts, new Rng(1));
    assertEquals(g.count, 4);
    for (let k = 0; k < 4; k++) {
      assertEquals([...g.indices.subarray(4 * k, 4 * k + 4)], [2, 3, 1, 0]);
    }
    // coords_relative = −(pos − centre): member 2 at +x of the centre has offset (−2, 0).
    assertEquals([g.offsets[0], g.offsets[1]], [-2, -0]);
  }
});

Deno.test("permuted positions give the same groups with the angle order (deterministic draw)", () => {
  const cases: [string, number, GroupingOptions][] = [
    ["jittered, seed excluded, K = C", 1.5, { nGroups: 35, gridsize: 2, neighbours: 4 }],
    ["exact raster (ties), K = C", 0, { nGroups: 35, gridsize: 2, neighbours: 4 }],
    [
      "seed included, K = C − 1",
      1.5,
      { nGroups: 35, gridsize: 2, neighbours: 3, seedMember: "include" },
    ],
    ["gridsize 3", 1.5, { nGroups: 35, gridsize: 3, neighbours: 9 }],
  ];
  const perm = new Rng(11).shuffle([...Array(35).keys()]);
  for (const [name, jitter, base] of cases) {
    const { xs, ys } = scan(35, jitter);
    const pxs = Float64Array.from(perm, (p) => xs[p]), pys = Float64Array.from(perm, (p) => ys[p]);
    const describeBoth = (order: "random" | "angle") => {
      const opts = { ...base, order };
      const a = describe(groupPositions(xs, ys, opts, new Rng(4))).sort();
      const b = describe(groupPositions(pxs, pys, opts, new Rng(9)), (j) => perm[j]).sort();
      return { a, b };
    };
    const angle = describeBoth("angle");
    assertEquals(angle.b, angle.a, name);
    // The draw's own order is not invariant: the test would see a broken angle order.
    const random = describeBoth("random");
    assert(random.a.join() !== random.b.join(), `${name}: random order happened to agree`);
  }
});

Deno.test("seed included: each group is one position and C − 1 of its K nearest neighbours", () => {
  const { xs, ys } = scan(35, 1.5);
  const g = groupPositions(
    xs,
    ys,
    { nGroups: 35, gridsize: 2, neighbours: 5, seedMember: "include" },
    new Rng(2),
  );
  for (let k = 0; k < g.count; k++) {
    const members = [...g.indices.subarray(4 * k, 4 * k + 4)];
    assertEquals(new Set(members).size, 4);
    const seed = members[0];
    const near = new Set(nearestNeighbours(xs, ys, seed, 5));
    assert(members.slice(1).every((i) => near.has(i)), `group ${k}: ${members}`);
  }
});

Deno.test("K > C: members are 4 of a seed's 7 nearest, and not always the 4 nearest", () => {
  const { xs, ys } = scan(35, 1.5);
  const g = groupPositions(xs, ys, { nGroups: 35, gridsize: 2, neighbours: 7 }, new Rng(2));
  let beyondFour = 0;
  for (let k = 0; k < g.count; k++) {
    const members = [...g.indices.subarray(4 * k, 4 * k + 4)];
    const within = (kk: number) =>
      [...Array(35).keys()].some((s) => {
        const near = new Set(nearestNeighbours(xs, ys, s, kk));
        return !members.includes(s) && members.every((i) => near.has(i));
      });
    assert(within(7), `group ${k} (${members}) is not among any position's 7 nearest`);
    if (!within(4)) beyondFour++;
  }
  assert(beyondFour > 0, "every group was some position's 4 nearest: K = 7 drew nothing wider");
});
