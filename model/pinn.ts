/**
 * PtychoPINN as one trainable model: the generator, the trainable photon scale
 * s = exp(log_scale), the fixed probe and the physics (docs/physics.md#forward-model).
 *
 * Network input = s0·X/s (so it is X while s = s0); targets k = (s0·X)², fixed; predicted
 * intensity λ = s²·|F(P·O')|², with O' the group's patches after merge → re-extract when
 * gridsize > 1 (object_big), or the group's one patch re-extracted at each member's offset
 * without object_big.
 */
import {
  div,
  exp,
  mul,
  photonCounts,
  photonScale,
  reshape,
  type Tensor,
  tensor,
} from "../engine/mod.ts";
import type { GroupOrder, SeedMember } from "./grouping.ts";
import { type LossKind, poissonTrainingLoss, trainingLoss } from "./losses.ts";
import { Generator, isObjectBig, type NetworkConfig, parameterShapes } from "./network.ts";
import { exitWaves, farFieldIntensity, type MergeWindow } from "./physics.ts";

/** The network's shape plus the physics and grouping options of the model. */
export interface PinnConfig extends NetworkConfig {
  /**
   * What the merge keeps of each patch (default "central",
   * docs/physics.md#merge-and-re-extraction).
   */
  mergeWindow?: MergeWindow;
  /** Member order within a group, at training and inference (default "random"). */
  groupOrder?: GroupOrder;
  /** Whether a group's seed is a member (default "exclude"). */
  groupSeed?: SeedMember;
}

/** Name of the scalar log-scale parameter in checkpoints and bundles. */
export const LOG_SCALE = "log_scale";

/** Every trainable parameter's shape: the generator's plus log_scale [1]. */
export function modelParameterShapes(cfg: NetworkConfig): Map<string, number[]> {
  const shapes = parameterShapes(cfg);
  shapes.set(LOG_SCALE, [1]);
  return shapes;
}

/** One batch on the device: normalised amplitudes X [B, C, N, N] and offsets [B, C, 2]. */
export interface Batch {
  /** Normalised amplitudes X [B, C, N, N]. */
  x: Tensor;
  /** Relative offsets coords_relative [B, C, 2] = (x, y). */
  offsets: Tensor;
}

/** The model's loss on a batch: what to back-propagate and what to report. */
export interface BatchLoss {
  /** The training objective (mean over elements). */
  loss: Tensor;
  /** The reported value: the objective plus mean ln Γ(k+1) for Poisson (no gradient). */
  reported: Tensor;
}

/** Generator + scale + probe + physics. */
export class PtychoPinn {
  /** The CNN. */
  readonly generator: Generator;
  /** log s, trainable, shape [1]. */
  readonly logScale: Tensor;
  /** The probe used in the forward model, [N, N, 2]. */
  readonly probe: Tensor;

  /**
   * `values` holds every parameter of {@link modelParameterShapes} (log_scale included);
   * `probe` is the (already normalised) complex probe; `s0` the initial intensity scale.
   */
  constructor(
    readonly config: PinnConfig,
    values: Map<string, Float32Array>,
    probe: Float32Array,
    readonly s0: number,
  ) {
    this.generator = new Generator(config, values);
    const logScale = values.get(LOG_SCALE);
    if (logScale === undefined) throw new Error(`missing parameter '${LOG_SCALE}'`);
    this.logScale = tensor(logScale, [1], { requiresGrad: true });
    this.probe = tensor(probe, [config.n, config.n, 2]);
  }

  /** Every trainable tensor by name (generator order, then log_scale). */
  parameters(): Map<string, Tensor> {
    return new Map([...this.generator.params, [LOG_SCALE, this.logScale]]);
  }

  /** s = exp(log_scale), shape [1]. */
  scale(): Tensor {
    return exp(this.logScale);
  }

  /**
   * Object patches from the network alone: [B, Cout, N, N, 2] for input X [B, C, N, N] and
   * offsets [B, C, 2] (read only by the offset-plane network). The input is scaled by s0/s,
   * or by `inputScale` ([1], that factor from {@link photonScale}) when given.
   */
  patches(x: Tensor, offsets: Tensor, inputScale?: Tensor): Tensor {
    const factor = inputScale ?? div(this.s0, this.scale());
    return this.generator.forward(mul(x, reshape(factor, [1, 1, 1, 1])), offsets);
  }

  /** Unscaled far-field intensity |F(P·O')|² [B, C, N, N] of a batch (`inputScale`: as patches). */
  intensity(batch: Batch, inputScale?: Tensor): Tensor {
    return this.intensityOf(this.patches(batch.x, batch.offsets, inputScale), batch.offsets);
  }

  /**
   * Unscaled far-field intensity [B, C, N, N] of the network's patches [B, Cout, N, N, 2] (from
   * {@link patches}) for a batch with these offsets: merge → re-extract (or re-extract alone
   * without object_big) at gridsize > 1, the probe, then the far field.
   */
  intensityOf(patches: Tensor, offsets: Tensor): Tensor {
    const { gridsize, mergeWindow } = this.config;
    const objectBig = isObjectBig(this.config);
    return farFieldIntensity(
      exitWaves(patches, offsets, this.probe, gridsize, objectBig, mergeWindow),
    );
  }

  /** Targets k = (s0·X)². */
  counts(x: Tensor): Tensor {
    return photonCounts(x, this.s0);
  }

  /**
   * Training objective and reported value of one batch. For Poisson, s0/s and s² come from one
   * fused op on log_scale (the same values as computing s twice).
   */
  loss(batch: Batch, kind: LossKind): BatchLoss {
    const counts = this.counts(batch.x);
    if (kind === "mae") return trainingLoss(kind, this.intensity(batch), this.scale(), counts);
    const { input, rate } = photonScale(this.logScale, this.s0);
    return poissonTrainingLoss(this.intensity(batch, input), rate, counts);
  }

  /** Release every tensor. */
  dispose(): void {
    this.generator.dispose();
    this.logScale.dispose();
    this.probe.dispose();
  }
}
