/**
 * Reconstruction metrics (docs/physics.md#metrics): align a reconstruction with the ground-truth
 * object, scale the amplitude to the ground truth's mean, remove the phase plane, then MAE, MSE,
 * PSNR (peak 255 as upstream's cv2, and peak = ground-truth data range), SSIM (scikit-image
 * defaults) and FRC50 / FRC1/7 for amplitude and phase.
 */
import {
  alignForEvaluation,
  type AlignOptions,
  amplitudeOf,
  phaseOf,
  removeMean,
  removePlane,
} from "./align.ts";
import type { ComplexImage } from "../../io/image.ts";
import {
  dataRange,
  firstBelowThreshold,
  fourierRingCorrelation,
  meanAbsoluteError,
  meanSquaredError,
  psnrFromMse,
  type RealImage,
  structuralSimilarity,
} from "./measures.ts";

export type { AlignOptions, ScanBounds } from "./align.ts";
export { complexFromInterleaved, type ComplexImage } from "../../io/image.ts";
export type { RealImage } from "./measures.ts";

/** The metrics of one channel (amplitude or phase). */
export interface ChannelMetrics {
  /** Mean absolute error. */
  mae: number;
  /** Mean squared error. */
  mse: number;
  /** PSNR in dB with peak 255 (upstream `cv2.PSNR` default). */
  psnr255: number;
  /** PSNR in dB with the ground truth's data range (max − min) as peak; NaN for a flat truth. */
  psnrRange: number;
  /**
   * Mean SSIM, 7×7 uniform window (amplitude: range = truth range; phase: on (φ+π)/2π, range 1).
   */
  ssim: number;
  /** Ring index where the FRC first drops below 0.5 (curve length if never; NaN if undefined). */
  frc50: number;
  /** Ring index where the FRC first drops below 1/7. */
  frc1over7: number;
  /** The FRC curve, ring 0 = zero frequency. */
  frc: Float64Array;
}

/** Everything {@link evaluateReconstruction} measures. */
export interface ReconstructionMetrics {
  /** Amplitude metrics (reconstruction scaled to the truth's mean). */
  amplitude: ChannelMetrics;
  /** Phase metrics (plane or mean removed from each image). */
  phase: ChannelMetrics;
  /** Shape (rows, columns) of the compared region. */
  shape: [number, number];
  /** Factor applied to the reconstructed amplitude: mean(truth) / mean(reconstruction). */
  amplitudeScale: number;
  /** Residual shift (x, y) undone when registering, else null. */
  shiftXY: [number, number] | null;
}

/** Alignment plus how the phase offset is removed. */
export interface EvaluateOptions extends AlignOptions {
  /** "plane" (default): least-squares plane removed per image; "mean": mean removed. */
  phaseAlign?: "plane" | "mean";
}

function channelMetrics(
  truth: RealImage,
  pred: RealImage,
  ssimTruth: RealImage,
  ssimPred: RealImage,
  ssimRange: number,
): ChannelMetrics {
  const mse = meanSquaredError(truth, pred);
  const range = dataRange(truth);
  const frc = fourierRingCorrelation(truth, pred);
  const defined = frc.some((v) => !Number.isNaN(v));
  return {
    mae: meanAbsoluteError(truth, pred),
    mse,
    psnr255: psnrFromMse(mse, 255),
    psnrRange: range > 0 ? psnrFromMse(mse, range) : NaN,
    ssim: structuralSimilarity(ssimTruth, ssimPred, ssimRange),
    frc50: defined ? firstBelowThreshold(frc, 0.5) : NaN,
    frc1over7: defined ? firstBelowThreshold(frc, 1 / 7) : NaN,
    frc,
  };
}

/** Scales every pixel by `factor`. */
function scaled(image: RealImage, factor: number): RealImage {
  return { ...image, data: image.data.map((v) => v * factor) };
}

/** Maps phase φ to (φ + π)/2π, the [0, 1] form the phase SSIM is computed on. */
function phaseToUnit(image: RealImage): RealImage {
  return { ...image, data: image.data.map((v) => (v + Math.PI) / (2 * Math.PI)) };
}

function mean(image: RealImage): number {
  let sum = 0;
  for (const v of image.data) sum += v;
  return sum / image.data.length;
}

/** The four images the metrics compare, after alignment (all of one shape). */
export interface AlignedChannels {
  /** Ground-truth amplitude. */
  amplitudeTruth: RealImage;
  /** Reconstructed amplitude scaled by {@link AlignedChannels.amplitudeScale}. */
  amplitude: RealImage;
  /** Ground-truth phase with its plane (or mean) removed. */
  phaseTruth: RealImage;
  /** Reconstructed phase with its plane (or mean) removed. */
  phase: RealImage;
  /** mean(truth amplitude) / mean(reconstructed amplitude). */
  amplitudeScale: number;
  /** Residual shift (x, y) undone when registering, else null. */
  shiftXY: [number, number] | null;
}

/**
 * Aligns a reconstruction with the full ground-truth object (both complex; see
 * {@link alignForEvaluation}), scales the amplitude to the truth's mean and flattens both phases.
 */
export function alignChannels(
  recon: ComplexImage,
  truth: ComplexImage,
  options: EvaluateOptions = {},
): AlignedChannels {
  const aligned = alignForEvaluation(recon, truth, options);
  const amplitudeTruth = amplitudeOf(aligned.truth);
  const ampRaw = amplitudeOf(aligned.recon);
  const predMean = mean(ampRaw);
  const amplitudeScale = predMean > 0 ? mean(amplitudeTruth) / predMean : 1;
  const flatten = options.phaseAlign === "mean" ? removeMean : removePlane;
  return {
    amplitudeTruth,
    amplitude: scaled(ampRaw, amplitudeScale),
    phaseTruth: flatten(phaseOf(aligned.truth)),
    phase: flatten(phaseOf(aligned.recon)),
    amplitudeScale,
    shiftXY: aligned.shiftXY,
  };
}

/** The metrics (docs/physics.md#metrics) of images aligned by {@link alignChannels}. */
export function channelsMetrics(ch: AlignedChannels): ReconstructionMetrics {
  const { amplitudeTruth, amplitude, phaseTruth, phase } = ch;
  return {
    amplitude: channelMetrics(
      amplitudeTruth,
      amplitude,
      amplitudeTruth,
      amplitude,
      dataRange(amplitudeTruth),
    ),
    phase: channelMetrics(phaseTruth, phase, phaseToUnit(phaseTruth), phaseToUnit(phase), 1),
    shape: [amplitudeTruth.height, amplitudeTruth.width],
    amplitudeScale: ch.amplitudeScale,
    shiftXY: ch.shiftXY,
  };
}

/**
 * The metrics (docs/physics.md#metrics) of a reconstruction against the full ground-truth object
 * (both complex): {@link alignChannels}, then amplitude and phase metrics.
 */
export function evaluateReconstruction(
  recon: ComplexImage,
  truth: ComplexImage,
  options: EvaluateOptions = {},
): ReconstructionMetrics {
  return channelsMetrics(alignChannels(recon, truth, options));
}

/** JSON-ready form: snake_case keys, non-finite numbers as null, FRC curves included. */
export function metricsToJson(metrics: ReconstructionMetrics): Record<string, unknown> {
  const finite = (v: number) => (Number.isFinite(v) ? v : null);
  const channel = (c: ChannelMetrics) => ({
    mae: finite(c.mae),
    mse: finite(c.mse),
    psnr_255: finite(c.psnr255),
    psnr_data_range: finite(c.psnrRange),
    ssim: finite(c.ssim),
    frc50: finite(c.frc50),
    frc_1_over_7: finite(c.frc1over7),
    frc_curve: Array.from(c.frc, finite),
  });
  return {
    amplitude: channel(metrics.amplitude),
    phase: channel(metrics.phase),
    compared_shape: metrics.shape,
    amplitude_scale: finite(metrics.amplitudeScale),
    registered_shift_xy: metrics.shiftXY,
  };
}
