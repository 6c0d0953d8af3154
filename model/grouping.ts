/**
 * Grouping of scan positions (docs/physics.md#grouping): each group is gridsize² positions taken
 * among the K nearest neighbours of a seed position (the seed itself excluded), with relative
 * offsets r = −(pos − group mean) in (x, y) = (column, row) pixels.
 *
 * Rules: gridsize 1 — groups are distinct seeds (at most M of them). gridsize > 1 — seeds are
 * distinct while n_groups ≤ M; beyond that every position is a seed once and the rest are drawn
 * with replacement (their neighbour choices still differ). The C members are drawn without
 * replacement from the max(K, C) nearest neighbours; with fewer neighbours than C the seed joins
 * the pool, and only a still smaller pool repeats members. Ties in distance go to the lower index.
 *
 * Options (issue 15; the defaults are the rules above): `seedMember: "include"` puts the seed in
 * every group and draws the other C − 1 members from its max(K, C − 1) nearest neighbours (the
 * paper's formula; upstream's code excludes it). `order: "angle"` sorts each group's members by
 * the angle of their position around the group centre, atan2(y − ȳ, x − x̄) in [0, 2π) from +x
 * (pixel axes, y pointing down), ties by distance from the centre, then by index, so channel c
 * always means the same relative place; distance ties among neighbours then go to the lower
 * (x, y) position instead of the lower index, and the centre is summed in position order, so a
 * permuted scan gives the same groups wherever the draw is deterministic (every position seeds
 * one group and K = C, or K = C − 1 with the seed included: inference).
 */
import type { Rng } from "../engine/mod.ts";

/** How to group. */
export interface GroupingOptions {
  /** Number of groups wanted (`n_images` / `n_groups`). */
  nGroups: number;
  /** Group side; C = gridsize² positions per group. */
  gridsize: number;
  /** K nearest neighbours searched per seed (docs/physics.md#grouping: 4). */
  neighbours: number;
  /** Member order within a group (default "random": the draw's order). */
  order?: GroupOrder;
  /** Whether the seed is a member (default "exclude", docs/physics.md#grouping). */
  seedMember?: SeedMember;
}

/** Member order within a group: as drawn, or by angle around the group centre. */
export type GroupOrder = "random" | "angle";

/** Whether a group's seed position is one of its members. */
export type SeedMember = "exclude" | "include";

/** Groups of position indices with their relative offsets. */
export interface Groups {
  /** Number of groups G. */
  count: number;
  /** Positions per group C. */
  size: number;
  /** Position indices (G, C), row-major. */
  indices: Int32Array;
  /** coords_relative (G, C, 2) = −(pos − group mean), (x, y) pixels. */
  offsets: Float32Array;
  /** Group mean positions (G, 2) = (x, y) (coords_offsets). */
  centers: Float64Array;
}

/**
 * The `k` nearest positions to position `seed`, excluding it, nearest first; ties go to the lower
 * index, or with `byPosition` to the lower x, then y, then index.
 */
export function nearestNeighbours(
  xs: Float64Array,
  ys: Float64Array,
  seed: number,
  k: number,
  byPosition = false,
): number[] {
  const order: { i: number; d: number }[] = [];
  for (let i = 0; i < xs.length; i++) {
    if (i === seed) continue;
    const dx = xs[i] - xs[seed], dy = ys[i] - ys[seed];
    order.push({ i, d: dx * dx + dy * dy });
  }
  const place = (a: number, b: number) => byPosition ? xs[a] - xs[b] || ys[a] - ys[b] : 0;
  order.sort((a, b) => a.d - b.d || place(a.i, b.i) || a.i - b.i);
  return order.slice(0, k).map((o) => o.i);
}

/** The seeds: distinct while possible, then drawn with replacement (gridsize > 1 only). */
function chooseSeeds(m: number, opts: GroupingOptions, rng: Rng): number[] {
  if (opts.gridsize === 1 || opts.nGroups <= m) return rng.choice(m, Math.min(opts.nGroups, m));
  const seeds = rng.shuffle([...Array(m).keys()]);
  while (seeds.length < opts.nGroups) seeds.push(rng.int(m));
  return seeds;
}

/** `c` members drawn from `pool`: without replacement while it is large enough. */
function drawFrom(pool: number[], c: number, rng: Rng): number[] {
  if (pool.length >= c) return rng.choice(pool.length, c).map((j) => pool[j]);
  const members = rng.shuffle([...pool]);
  while (members.length < c) members.push(pool[rng.int(pool.length)]);
  return members;
}

/** C members for one seed (see the module comment for the rules). */
function chooseMembers(
  xs: Float64Array,
  ys: Float64Array,
  seed: number,
  c: number,
  opts: GroupingOptions,
  rng: Rng,
): number[] {
  if (c === 1) return [seed];
  const k = opts.neighbours, byPosition = opts.order === "angle";
  if (opts.seedMember === "include") {
    const pool = nearestNeighbours(xs, ys, seed, Math.max(k, c - 1), byPosition);
    return [seed, ...drawFrom(pool.length > 0 ? pool : [seed], c - 1, rng)];
  }
  const pool = nearestNeighbours(xs, ys, seed, Math.max(k, c), byPosition);
  if (pool.length < c) pool.unshift(seed);
  return drawFrom(pool, c, rng);
}

/** The mean position of `members`, summed in (x, y, index) order so it is order-independent. */
function orderFreeCentre(xs: Float64Array, ys: Float64Array, members: number[]): number[] {
  const sorted = [...members].sort((a, b) => xs[a] - xs[b] || ys[a] - ys[b] || a - b);
  let mx = 0, my = 0;
  for (const i of sorted) {
    mx += xs[i] / members.length;
    my += ys[i] / members.length;
  }
  return [mx, my];
}

/**
 * `members` sorted by the angle of their position around (mx, my), from +x in [0, 2π), then by
 * distance from it, then by index (the module comment's rule).
 */
export function angleOrder(
  xs: Float64Array,
  ys: Float64Array,
  members: readonly number[],
  mx: number,
  my: number,
): number[] {
  const key = members.map((i) => {
    const dx = xs[i] - mx, dy = ys[i] - my;
    const a = Math.atan2(dy, dx);
    return { i, angle: a < 0 ? a + 2 * Math.PI : a, d: dx * dx + dy * dy };
  });
  key.sort((p, q) => p.angle - q.angle || p.d - q.d || p.i - q.i);
  return key.map((k) => k.i);
}

/** Group the positions (xs, ys) with `rng` (seeded by the caller). */
export function groupPositions(
  xs: Float64Array,
  ys: Float64Array,
  opts: GroupingOptions,
  rng: Rng,
): Groups {
  const m = xs.length;
  if (m === 0) throw new RangeError("no scan positions to group");
  const c = opts.gridsize * opts.gridsize;
  const seeds = chooseSeeds(m, opts, rng);
  const count = seeds.length;
  const indices = new Int32Array(count * c);
  const offsets = new Float32Array(count * c * 2);
  const centers = new Float64Array(count * 2);
  seeds.forEach((seed, g) => {
    let members = chooseMembers(xs, ys, seed, c, opts, rng);
    let mx = 0, my = 0;
    if (opts.order === "angle") {
      [mx, my] = orderFreeCentre(xs, ys, members);
      members = angleOrder(xs, ys, members, mx, my);
    } else {
      for (const i of members) {
        mx += xs[i] / c;
        my += ys[i] / c;
      }
    }
    centers[2 * g] = mx;
    centers[2 * g + 1] = my;
    members.forEach((i, j) => {
      indices[g * c + j] = i;
      offsets[2 * (g * c + j)] = -(xs[i] - mx);
      offsets[2 * (g * c + j) + 1] = -(ys[i] - my);
    });
  });
  return { count, size: c, indices, offsets, centers };
}

/** The groups in `order` (a list of group indices): indices (B, C) and offsets (B, C, 2). */
export function selectGroups(groups: Groups, order: readonly number[]): {
  indices: Int32Array;
  offsets: Float32Array;
} {
  const c = groups.size;
  const indices = new Int32Array(order.length * c);
  const offsets = new Float32Array(order.length * c * 2);
  order.forEach((g, b) => {
    indices.set(groups.indices.subarray(g * c, (g + 1) * c), b * c);
    offsets.set(groups.offsets.subarray(2 * g * c, 2 * (g + 1) * c), 2 * b * c);
  });
  return { indices, offsets };
}
