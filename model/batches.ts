/**
 * A dataset prepared for training or validation: grouped (docs/physics.md#grouping), normalised
 * (docs/physics.md#amplitude-normalisation), and cut into batches that are uploaded to the current
 * backend on demand.
 */
import { Rng, tensor } from "../engine/mod.ts";
import type { PtychoDataset } from "../io/dataset.ts";
import {
  type GroupOrder,
  groupPositions,
  type Groups,
  type SeedMember,
  selectGroups,
} from "./grouping.ts";
import { allowedTransforms, type AugmentMode, transformGroup } from "./augment.ts";
import { normalizationFactor } from "./normalize.ts";
import type { Batch } from "./pinn.ts";

/** How to group a dataset. */
export interface PrepareOptions {
  /** Number of groups. */
  nGroups: number;
  /** Group side (C = gridsize²). */
  gridsize: number;
  /** K nearest neighbours per seed. */
  neighbours: number;
  /** Seed of the grouping draw. */
  seed: number;
  /** Member order within a group (default "random"). */
  order?: GroupOrder;
  /** Whether the seed is a member (default "exclude"). */
  seedMember?: SeedMember;
  /** Training augmentation by the probe's symmetries (default "none"; model/augment.ts). */
  augment?: AugmentMode;
}

/** Grouped, normalised patterns of one dataset. */
export class GroupedPatterns {
  /** Pattern side N. */
  readonly n: number;

  /**
   * Wraps `dataset` with its `groups` and amplitude normalisation `factor`; `transforms` are the
   * augmentation codes a training step may draw (model/augment.ts; [0] = none), `memberOrder` the
   * rule that orders a transformed group's members again.
   */
  constructor(
    readonly dataset: PtychoDataset,
    readonly groups: Groups,
    readonly factor: number,
    readonly transforms: readonly number[] = [0],
    readonly memberOrder: GroupOrder = "random",
  ) {
    this.n = dataset.n;
  }

  /** Number of groups. */
  get count(): number {
    return this.groups.count;
  }

  /**
   * Groups `order` as a device batch: X_norm [B, C, N, N] and offsets [B, C, 2]; group b
   * transformed by `codes[b]` when given (model/augment.ts).
   */
  batch(order: readonly number[], codes?: readonly number[]): Batch {
    const { indices, offsets } = selectGroups(this.groups, order);
    const pixels = this.n * this.n;
    const x = new Float32Array(indices.length * pixels);
    const src = this.dataset.diffraction;
    indices.forEach((p, j) => {
      const from = p * pixels;
      for (let q = 0; q < pixels; q++) x[j * pixels + q] = src[from + q] * this.factor;
    });
    const b = order.length, c = this.groups.size;
    codes?.forEach((code, g) => {
      transformGroup(
        code,
        x.subarray(g * c * pixels, (g + 1) * c * pixels),
        offsets.subarray(2 * g * c, 2 * (g + 1) * c),
        this.n,
        this.memberOrder,
      );
    });
    return { x: tensor(x, [b, c, this.n, this.n]), offsets: tensor(offsets, [b, c, 2]) };
  }

  /**
   * The augmentation codes of epoch `epoch`, one per position of its shuffled order: drawn
   * uniformly from `transforms` by a seeded generator of their own (so a resumed run draws the
   * same ones, and runs without augmentation keep their shuffles); null without augmentation.
   */
  epochTransforms(seed: number, epoch: number): number[] | null {
    if (this.transforms.length < 2) return null;
    const rng = new Rng(epochSeed(seed ^ 0x5bd1e995, epoch));
    return Array.from(
      { length: this.count },
      () => this.transforms[rng.int(this.transforms.length)],
    );
  }
}

/** Group `dataset` with a seeded draw and compute its normalisation factor. */
export function prepareDataset(dataset: PtychoDataset, opts: PrepareOptions): GroupedPatterns {
  const groups = groupPositions(
    dataset.xcoordsStart,
    dataset.ycoordsStart,
    {
      nGroups: opts.nGroups,
      gridsize: opts.gridsize,
      neighbours: opts.neighbours,
      order: opts.order,
      seedMember: opts.seedMember,
    },
    new Rng(opts.seed),
  );
  const factor = normalizationFactor(dataset.diffraction, dataset.n, groups.indices);
  const transforms = allowedTransforms(opts.augment ?? "none", dataset.probe, dataset.n);
  return new GroupedPatterns(dataset, groups, factor, transforms, opts.order ?? "random");
}

/** Split `order` into consecutive batches of `size` (the last one may be shorter). */
export function chunk(order: readonly number[], size: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < order.length; i += size) out.push(order.slice(i, i + size));
  return out;
}

/** The seed of epoch `epoch`'s shuffle, derived from the run seed (resumable without RNG state). */
export function epochSeed(seed: number, epoch: number): number {
  return (Math.imul(seed >>> 0, 0x9e3779b1) + Math.imul(epoch + 1, 0x85ebca6b)) >>> 0;
}

/** The group order of epoch `epoch`: a seeded shuffle of 0..count−1. */
export function epochOrder(count: number, seed: number, epoch: number): number[] {
  return new Rng(epochSeed(seed, epoch)).shuffle([...Array(count).keys()]);
}
