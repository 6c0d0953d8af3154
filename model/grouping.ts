/**
 * Grouping of scan positions (SPEC A4, B2.3): each group is gridsize² positions taken among the
 * K nearest neighbours of a seed position (the seed itself excluded), with relative offsets
 * r = −(pos − group mean) in (x, y) = (column, row) pixels.
 *
 * Rules: gridsize 1 — groups are distinct seeds (at most M of them). gridsize > 1 — seeds are
 * distinct while n_groups ≤ M; beyond that every position is a seed once and the rest are drawn
 * with replacement (their neighbour choices still differ). The C members are drawn without
 * replacement from the max(K, C) nearest neighbours; with fewer neighbours than C the seed joins
 * the pool, and only a still smaller pool repeats members. Ties in distance go to the lower index.
 */
import type { Rng } from "../engine/mod.ts";

/** How to group. */
export interface GroupingOptions {
  /** Number of groups wanted (`n_images` / `n_groups`). */
  nGroups: number;
  /** Group side; C = gridsize² positions per group. */
  gridsize: number;
  /** K nearest neighbours searched per seed (SPEC A4: 4). */
  neighbours: number;
}

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

/** The `k` nearest positions to position `seed`, excluding it, nearest first. */
export function nearestNeighbours(
  xs: Float64Array,
  ys: Float64Array,
  seed: number,
  k: number,
): number[] {
  const order: { i: number; d: number }[] = [];
  for (let i = 0; i < xs.length; i++) {
    if (i === seed) continue;
    const dx = xs[i] - xs[seed], dy = ys[i] - ys[seed];
    order.push({ i, d: dx * dx + dy * dy });
  }
  order.sort((a, b) => a.d - b.d || a.i - b.i);
  return order.slice(0, k).map((o) => o.i);
}

/** The seeds: distinct while possible, then drawn with replacement (gridsize > 1 only). */
function chooseSeeds(m: number, opts: GroupingOptions, rng: Rng): number[] {
  if (opts.gridsize === 1 || opts.nGroups <= m) return rng.choice(m, Math.min(opts.nGroups, m));
  const seeds = rng.shuffle([...Array(m).keys()]);
  while (seeds.length < opts.nGroups) seeds.push(rng.int(m));
  return seeds;
}

/** C members for one seed (see the module comment for the rules). */
function chooseMembers(
  xs: Float64Array,
  ys: Float64Array,
  seed: number,
  c: number,
  k: number,
  rng: Rng,
) {
  if (c === 1) return [seed];
  const pool = nearestNeighbours(xs, ys, seed, Math.max(k, c));
  if (pool.length < c) pool.unshift(seed);
  if (pool.length >= c) return rng.choice(pool.length, c).map((j) => pool[j]);
  const members = rng.shuffle([...pool]);
  while (members.length < c) members.push(pool[rng.int(pool.length)]);
  return members;
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
    const members = chooseMembers(xs, ys, seed, c, opts.neighbours, rng);
    let mx = 0, my = 0;
    for (const i of members) {
      mx += xs[i] / c;
      my += ys[i] / c;
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
