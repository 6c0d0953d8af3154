/**
 * The fused kernels of the backend contract (engine/backend.ts `Kernels` extends them): the
 * model's merge and extract of overlapping patches, the decoder heads' epilogue, the photon
 * scale, and the far-field and Poisson loss terms, each with its gradient, in one pass where the
 * unfused op chain would take several. Each returns a new storage; complex tensors end in an axis
 * of length 2.
 */
import type { Storage } from "./storage.ts";

/** The ε of {@link FusedKernels.farFieldResiduals}: amplitude term εa, Poisson term εp. */
export interface FarFieldEps {
  /** Added to λ under the square root of the amplitude term. */
  amplitude: number;
  /** Added to λ inside the logarithm of the Poisson term. */
  poisson: number;
}

/** The fused kernels of the backend contract (see the module comment). */
export interface FusedKernels {
  /**
   * Per-pixel far-field residuals: psi (size, 2), amplitude (size) → (size, 2) =
   * ((√(λ+εa) − A)², λ − I − I·ln((λ+εp)/max(I, 1))), λ = |Ψ|², I = A² (engine/ops/farfield.ts).
   */
  farFieldResiduals(psi: Storage, amplitude: Storage, eps: FarFieldEps): Storage;
  /**
   * Merge weights: masks (batch·c, m, m) = the window mask (1 on rows and columns [lo, lo + side)
   * of an m × m canvas) translated by each shift (batch·c, 2) as `translate` does; inverse
   * (batch, m, m) = 1 / Σ over each group's c masks where that sum > floor, else 0.
   */
  mergeWeights(shift: Storage, g: MergeGeometry): { masks: Storage; inverse: Storage };
  /**
   * The weighted merge of each group's c patches onto its canvas, fused: patches (batch·c, n, n, 2)
   * padded centrally to m × m, translated by shift (batch·c, 2) as `translate` does, times masks
   * (batch·c, m, m), summed over the group and times inverse (batch, m, m) → (batch, m, m, 2).
   */
  mergeCanvas(
    patches: Storage,
    shift: Storage,
    masks: Storage,
    inverse: Storage,
    g: OverlapGeometry,
  ): Storage;
  /** Adjoint of `mergeCanvas` in the patches: g (batch, m, m, 2) → (batch·c, n, n, 2). */
  mergeCanvasAdjoint(
    g: Storage,
    shift: Storage,
    masks: Storage,
    inverse: Storage,
    geo: OverlapGeometry,
  ): Storage;
  /**
   * Each member's window of its group's canvas times the probe, fused: canvas (batch, m, m, 2)
   * translated by shift (batch·c, 2) as `translate` does, its central n × n, times probe
   * (n, n, 2) → (batch·c, n, n, 2).
   */
  extractIlluminate(canvas: Storage, shift: Storage, probe: Storage, g: OverlapGeometry): Storage;
  /**
   * The decoder heads' epilogue: amplitude a = pad(sigmoid(ampCentral)) + silu(ampBorder)·mask,
   * phase φ = pad(π·tanh(phaseCentral)) + silu(phaseBorder)·mask, out = a·e^{iφ}; centrals
   * (planes, side, side) padded centrally to n × n, borders (planes, n, n), mask 1 outside the
   * central window → (planes, n, n, 2).
   */
  objectFromHeads(ac: Storage, ab: Storage, pc: Storage, pb: Storage, g: HeadGeometry): Storage;
  /** Gradient of `objectFromHeads` w.r.t. one head's (`phase` or amplitude) two inputs. */
  objectFromHeadsGrad(
    gy: Storage,
    heads: readonly [Storage, Storage, Storage, Storage],
    g: HeadGeometry,
    phase: boolean,
  ): { central: Storage; border: Storage };
  /** For one-element logScale ℓ, s = e^ℓ: input = s0/s (as pow(s, −1)·s0), rate = s². */
  photonScale(logScale: Storage, s0: number): { input: Storage; rate: Storage };
  /** d/dℓ of `photonScale`'s rate (`rate`) or input factor, times its gradient g (1 element). */
  photonScaleGrad(g: Storage, logScale: Storage, s0: number, rate: boolean): Storage;
  /** Adjoint of `extractIlluminate` in the canvas: g (batch·c, n, n, 2) → (batch, m, m, 2). */
  extractIlluminateAdjoint(
    g: Storage,
    shift: Storage,
    probe: Storage,
    geo: OverlapGeometry,
  ): Storage;
  /**
   * The full Poisson NLL per element of rate λ and counts k (same size): (λ − k − k ln(λ/k⁺)) +
   * ln Γ(k+1) − k ln k⁺ + k, the last three terms by Stirling's series ½ln(2πk⁺) + 1/(12k⁺) −
   * 1/(360k⁺³) for k > 10; k⁺ = max(k, 1e−8) (engine/ops/poisson.ts).
   */
  poissonNll(rate: Storage, counts: Storage): Storage;
  /** Photon counts (a·x)² per element, rounding as affine(x, a, 0) then square. */
  photonCounts(x: Storage, a: number): Storage;
  /**
   * The Poisson training terms λ − k ln λ, λ = max(intensity·s2, floor), per element, with s2 a
   * single value, and the full NLL of λ as `poissonNll` gives it (the reported value).
   */
  poissonTerms(
    intensity: Storage,
    s2: Storage,
    counts: Storage,
    floor: number,
  ): { terms: Storage; nll: Storage };
  /**
   * Gradient of poissonTerms' terms for g: d = (g + (−g·k)/λ)·[intensity·s2 ≥ floor];
   * intensity ← d·s2, scale ← d·intensity (per element; summed, it is the s2 gradient).
   */
  poissonTermsGrad(
    g: Storage,
    intensity: Storage,
    s2: Storage,
    counts: Storage,
    floor: number,
  ): { intensity: Storage; scale: Storage };
  /** The gradient w.r.t. psi of Σ gy·farFieldResiduals (gy (size, 2)): (size, 2). */
  farFieldResidualsGrad(psi: Storage, amplitude: Storage, gy: Storage, eps: FarFieldEps): Storage;
}

/** Sizes of {@link FusedKernels.mergeWeights}. */
export interface MergeGeometry {
  /** Groups. */
  batch: number;
  /** Members per group. */
  c: number;
  /** Canvas side. */
  m: number;
  /** First row and column of the window. */
  lo: number;
  /** Window side. */
  side: number;
  /** Sums at or below this count as uncovered (inverse 0). */
  floor: number;
}

/** Sizes of {@link FusedKernels.mergeCanvas} and {@link FusedKernels.extractIlluminate}. */
export interface OverlapGeometry {
  /** Groups. */
  batch: number;
  /** Members per group. */
  c: number;
  /** Patch side. */
  n: number;
  /** Canvas side (≥ n; the patch window starts at ⌊(m − n)/2⌋). */
  m: number;
}

/**
 * Sizes of {@link FusedKernels.objectFromHeads}: planes, output side n, central side
 * (n − side even).
 */
export interface HeadGeometry {
  /** Output planes (batch · channels). */
  planes: number;
  /** Output side. */
  n: number;
  /** Side of the central outputs. */
  side: number;
}
