/**
 * Inference (docs/physics.md#inference-and-stitching): group the scan like the model was trained
 * (every position seeds one group), normalise the patterns with the test data's own factor
 * (docs/physics.md#amplitude-normalisation), predict object patches batch by batch and stitch them
 * as they come, so memory holds one batch and the canvas whatever the number of patterns.
 *
 * gridsize 1: each pattern's predicted patch sits at its scan position. gridsize > 1: a group's
 * patches are merged on the model's canvas (the masked per-group merge of the physics,
 * docs/physics.md#merge-and-re-extraction) and the central N × N of that canvas is the group's
 * object, placed at the group's mean position (upstream's `trimmed_obj` at `coords_offsets`);
 * canvas pixels no patch's central window reached are empty and get weight 0 in the stitched
 * average. Without object_big the group's one predicted patch is its object, placed at the group's
 * mean position.
 */
import {
  concat,
  expand,
  noGrad,
  ones,
  reshape,
  slice,
  type Tensor,
  tensor,
  tidy,
  zeros,
} from "../../engine/mod.ts";
import type { PtychoDataset } from "../../io/dataset.ts";
import { poissonNllReported } from "../losses.ts";
import { canvasSize, mergePatches } from "../physics.ts";
import type { PtychoPinn } from "../pinn.ts";
import { isObjectBig } from "../network.ts";
import {
  defaultStitchCrop,
  PatchStitcher,
  scanBounds,
  type StitchedObject,
  stitchLayout,
} from "./stitch.ts";
import { chunk, type GroupedPatterns, prepareDataset } from "../batches.ts";

/** How overlapping crops are averaged when stitching. */
export type StitchWeighting = "uniform" | "probe";

/** Floor of the probe stitch weights, relative to the probe's peak intensity. */
export const PROBE_WEIGHT_FLOOR = 1e-3;

/**
 * Per-pixel stitch weights from the probe, [N, N]: |P|² / max |P|² + 1e−3. A patch pixel counts
 * in proportion to how strongly it was illuminated, which is where the measurement constrains
 * it; crops of neighbouring positions then blend instead of meeting at hard seams. The floor
 * keeps pixels that only a probe's dark fringe reaches a plain average instead of a ratio of
 * vanishing numbers.
 */
export function probeStitchWeights(probe: Float32Array, n: number): Float32Array {
  const w = new Float32Array(n * n);
  let peak = 0;
  for (let p = 0; p < n * n; p++) {
    w[p] = probe[2 * p] ** 2 + probe[2 * p + 1] ** 2;
    peak = Math.max(peak, w[p]);
  }
  for (let p = 0; p < n * n; p++) w[p] = (peak > 0 ? w[p] / peak : 1) + PROBE_WEIGHT_FLOOR;
  return w;
}

/** Seed of the grouping draw at inference (upstream's TF inference seeds with 45). */
export const INFERENCE_SEED = 45;

/** How to run inference. */
export interface InferOptions {
  /** Use only the first `nImages` patterns of the file (default: all). */
  nImages?: number;
  /** Groups per forward pass (default 32). */
  batchSize?: number;
  /** Central crop kept per patch when stitching (default 20·N/64). */
  stitchCrop?: number;
  /**
   * How overlapping crops are averaged: `uniform` (docs/physics.md#inference-and-stitching, the
   * default) or `probe`, each pixel weighted by the probe's relative intensity there (see
   * {@link probeStitchWeights}).
   */
  stitchWeights?: StitchWeighting;
  /**
   * Fill pixels that no central crop covers from the patches' wider windows (default true; see
   * model/infer/stitch.ts), or leave them at 0.
   */
  stitchFill?: boolean;
  /** Nearest neighbours searched per group seed when gridsize > 1 (default 4). */
  neighbours?: number;
  /** Called after each batch with the number of groups done and the total. */
  onProgress?: (done: number, total: number) => void;
}

/** A reconstruction and how it was made. */
export interface Reconstruction {
  /** The stitched object on the object's pixel grid. */
  stitched: StitchedObject;
  /** Where each stitched patch was placed: group mean positions (object pixels). */
  xcoords: Float64Array;
  /** Where each stitched patch was placed: group mean positions (object pixels). */
  ycoords: Float64Array;
  /** Central crop kept per patch. */
  stitchCrop: number;
  /** Patterns used. */
  patterns: number;
  /** Groups predicted. */
  groups: number;
  /** Pixels between the patch positions that no central crop reached (holes; 0 is good). */
  holes: number;
  /**
   * How well the model explains the scan: its mean Poisson NLL per pattern, Σ over a pattern's
   * pixels of λ − k ln λ + ln Γ(k+1), over every (group, member) predicted, in the model's photon
   * units (k = (s0·X)², docs/physics.md#losses). Lower is better; it has a floor set by the
   * counting noise, so compare models on the same scan.
   */
  nllPerPattern: number;
  /** Seconds spent predicting (forward passes and reading results back). */
  predictSeconds: number;
  /** Seconds spent stitching. */
  stitchSeconds: number;
}

/** The first `count` patterns of a dataset (views, no copies). */
export function firstPatterns(dataset: PtychoDataset, count: number): PtychoDataset {
  if (count >= dataset.patternCount) return dataset;
  const pixels = dataset.n * dataset.n;
  return {
    ...dataset,
    diffraction: dataset.diffraction.subarray(0, count * pixels),
    patternCount: count,
    xcoords: dataset.xcoords.subarray(0, count),
    ycoords: dataset.ycoords.subarray(0, count),
    xcoordsStart: dataset.xcoordsStart.subarray(0, count),
    ycoordsStart: dataset.ycoordsStart.subarray(0, count),
    scanIndex: dataset.scanIndex.subarray(0, count),
  };
}

/**
 * Groups every position of `dataset` the way the model expects (see the module comment), with
 * the model's member order and seed rule.
 */
export function groupForInference(
  model: PtychoPinn,
  dataset: PtychoDataset,
  neighbours = 4,
): GroupedPatterns {
  return prepareDataset(dataset, {
    nGroups: dataset.patternCount,
    gridsize: model.config.gridsize,
    neighbours,
    seed: INFERENCE_SEED,
    order: model.config.groupOrder,
    seedMember: model.config.groupSeed,
  });
}

/** Whether the model merges a group's patches on its canvas (object_big at gridsize > 1). */
function merges(model: PtychoPinn): boolean {
  return model.config.gridsize > 1 && isObjectBig(model.config);
}

/**
 * The object patch of each group of a batch, [B, N, N, 2], with `fit` the model's mean Poisson
 * NLL per diffraction pixel of the batch (ln Γ(k+1) included, as the training loss reports it;
 * the patterns it predicts against the batch's own), and for gridsize > 1 its stitch
 * weights [B, N, N]: the group's merge applied to all-ones patches, or to per-pixel
 * `pixelWeights` [N, N] (e.g. {@link probeStitchWeights}) when given, so the mean weight of the
 * patches covering a canvas pixel, and 0 where the canvas is empty (see the module comment). At
 * gridsize 1, and without object_big, the coverage is null: each (group's one) patch is its own
 * object, and the caller stitches it with `pixelWeights` as they are.
 */
export function predictObjects(
  model: PtychoPinn,
  x: Tensor,
  offsets: Tensor,
  pixelWeights: Tensor | null = null,
  fit = false,
): { objects: Tensor; coverage: Tensor | null; nll: Tensor | null } {
  return noGrad(() =>
    tidy(() => {
      const { n, gridsize, mergeWindow } = model.config;
      const patches = model.patches(x, offsets);
      const nll = fit
        ? poissonNllReported(model.intensityOf(patches, offsets), model.scale(), model.counts(x))
        : null;
      const [b, c] = patches.shape;
      if (!merges(model)) {
        return { objects: reshape(patches, [b, n, n, 2]), coverage: null, nll };
      }
      const m = canvasSize(n, gridsize);
      const lo = (m - n) >> 1;
      const centre = (t: Tensor) => slice(t, [0, lo, lo, 0], [b, n, n, 2]);
      // Merging all-ones patches (or the weights) gives the mean weight wherever the masked
      // merge had a patch, else 0.
      const w = pixelWeights === null
        ? ones([b, c, n, n, 1])
        : expand(reshape(pixelWeights, [1, 1, n, n, 1]), [b, c, n, n, 1]);
      const unit = concat([w, zeros([b, c, n, n, 1])], 4);
      const merged = centre(mergePatches(unit, offsets, m, mergeWindow));
      const covered = slice(merged, [0, 0, 0, 0], [b, n, n, 1]);
      return {
        objects: centre(mergePatches(patches, offsets, m, mergeWindow)),
        coverage: reshape(covered, [b, n, n]),
        nll,
      };
    })
  );
}

/** Predicts and stitches the object of `dataset` with `model` (see the module comment). */
export async function reconstruct(
  model: PtychoPinn,
  dataset: PtychoDataset,
  options: InferOptions = {},
): Promise<Reconstruction> {
  const n = model.config.n;
  if (dataset.n !== n) {
    throw new RangeError(`the patterns are ${dataset.n}×${dataset.n}, the model needs N=${n}`);
  }
  const used = firstPatterns(dataset, options.nImages ?? dataset.patternCount);
  const grouped = groupForInference(model, used, options.neighbours);
  const count = grouped.count;
  const centers = grouped.groups.centers;
  const xcoords = new Float64Array(count);
  const ycoords = new Float64Array(count);
  for (let g = 0; g < count; g++) {
    xcoords[g] = centers[2 * g];
    ycoords[g] = centers[2 * g + 1];
  }
  const stitchCrop = options.stitchCrop ?? defaultStitchCrop(n);
  const stitcher = new PatchStitcher(
    stitchLayout(xcoords, ycoords, n, stitchCrop),
    options.stitchFill ?? true,
  );
  let predictSeconds = 0, stitchSeconds = 0;
  let done = 0;
  // Each batch's mean NLL per pixel stays on the device and its pattern count on the host; all
  // are read back once at the end, so the data fit adds no round trip per batch.
  const fits: Tensor[] = [];
  const fitPatterns: number[] = [];
  let nllPerPattern = NaN;
  // Probe weights are the same for every patch: at gridsize 1 the stitcher takes them as they
  // are; with a merge they go through each group's merge on the device.
  const hostWeights = options.stitchWeights === "probe"
    ? probeStitchWeights(await model.probe.data(), n)
    : undefined;
  const pixelWeights = hostWeights !== undefined && merges(model)
    ? tensor(hostWeights, [n, n])
    : null;
  try {
    for (const order of chunk([...Array(count).keys()], options.batchSize ?? 32)) {
      const t0 = performance.now();
      const batch = grouped.batch(order);
      let host: Float32Array;
      let weights: Float32Array | undefined;
      try {
        const { objects, coverage, nll } = predictObjects(
          model,
          batch.x,
          batch.offsets,
          pixelWeights,
          true,
        );
        try {
          host = await objects.data();
          weights = coverage === null ? hostWeights : await coverage.data();
        } finally {
          objects.dispose();
          coverage?.dispose();
        }
        fits.push(nll!);
        fitPatterns.push(batch.x.shape[0] * batch.x.shape[1]);
      } finally {
        batch.x.dispose();
        batch.offsets.dispose();
      }
      const t1 = performance.now();
      stitcher.add(host, order.map((g) => xcoords[g]), order.map((g) => ycoords[g]), weights);
      stitchSeconds += (performance.now() - t1) / 1000;
      predictSeconds += (t1 - t0) / 1000;
      done += order.length;
      options.onProgress?.(done, count);
    }
    // Per pattern: each batch's per-pixel mean × N², weighted by the batch's patterns.
    const all = tidy(() => concat(fits.map((t) => reshape(t, [1])), 0));
    const means = await all.data();
    all.dispose();
    let sum = 0, patterns = 0;
    for (let k = 0; k < means.length; k++) {
      sum += means[k] * n * n * fitPatterns[k];
      patterns += fitPatterns[k];
    }
    nllPerPattern = sum / patterns;
  } finally {
    pixelWeights?.dispose();
    for (const t of fits) t.dispose();
  }
  const t2 = performance.now();
  const stitched = stitcher.result();
  stitchSeconds += (performance.now() - t2) / 1000;
  return {
    stitched,
    xcoords,
    ycoords,
    stitchCrop,
    holes: countHoles(stitched, xcoords, ycoords),
    patterns: used.patternCount,
    groups: count,
    nllPerPattern,
    predictSeconds,
    stitchSeconds,
  };
}

/**
 * Uncovered pixels inside the box spanned by the patch positions: where neighbouring positions
 * are farther apart than the stitch crop, the stitched image has empty gaps.
 */
export function countHoles(
  stitched: StitchedObject,
  xcoords: ArrayLike<number>,
  ycoords: ArrayLike<number>,
): number {
  const { minX, maxX, minY, maxY } = scanBounds(xcoords, ycoords);
  const { originX, originY, width, height, coverage } = stitched;
  let holes = 0;
  for (let r = Math.max(0, Math.ceil(minY - originY)); r <= maxY - originY && r < height; r++) {
    for (let c = Math.max(0, Math.ceil(minX - originX)); c <= maxX - originX && c < width; c++) {
      if (coverage[r * width + c] <= 0) holes++;
    }
  }
  return holes;
}
