/**
 * The fused kernels of the CPU reference backend (engine/fused_kernels.ts) as thin wrappers over
 * the reference kernels (overlap, heads, scale, poisson, far field, complex), in a base class the
 * backend extends.
 */
import type {
  FarFieldEps,
  FusedKernels,
  HeadGeometry,
  MergeGeometry,
  OverlapGeometry,
} from "../fused_kernels.ts";
import type { Storage } from "../storage.ts";
import { unary } from "./elementwise.ts";
import { farFieldResiduals, farFieldResidualsGrad } from "./farfield.ts";
import { poissonNll, poissonTerms, poissonTermsGrad } from "./poisson.ts";
import { mergeWeights } from "./merge.ts";
import * as overlap from "./overlap.ts";
import { photonScale, photonScaleGrad } from "./scale.ts";
import { objectFromHeads, objectFromHeadsGrad } from "./heads.ts";
import { abs2, abs2Grad, polarGrad } from "./complex.ts";
import { dataOf } from "./storage.ts";

/**
 * The CPU backend's fused kernels, each computed as the unfused op chain would; {@link CpuBackend}
 * adds memory and the primitive kernels.
 *
 * @internal
 */
export abstract class CpuFusedOps implements FusedKernels {
  /** A new storage owning `data` (the backend counts it as live). */
  protected abstract wrap(data: Float32Array): Storage;

  /** Per-pixel amplitude and Poisson residuals of far fields. */
  farFieldResiduals(psi: Storage, amplitude: Storage, eps: FarFieldEps): Storage {
    return this.wrap(farFieldResiduals(dataOf(psi), dataOf(amplitude), eps));
  }

  /** Gradient of the far-field residuals w.r.t. psi. */
  farFieldResidualsGrad(psi: Storage, amplitude: Storage, gy: Storage, eps: FarFieldEps): Storage {
    return this.wrap(farFieldResidualsGrad(dataOf(psi), dataOf(amplitude), dataOf(gy), eps));
  }

  /** Gradient of polar, as the unfused op chain computes it. */
  polarGrad(g: Storage, amp: Storage, phase: Storage): { amp: Storage; phase: Storage } {
    const d = polarGrad(dataOf(g), dataOf(amp), dataOf(phase));
    return { amp: this.wrap(d.amp), phase: this.wrap(d.phase) };
  }

  /** |z|² per complex element. */
  abs2(z: Storage): Storage {
    return this.wrap(abs2(dataOf(z)));
  }

  /** Gradient of abs2. */
  abs2Grad(z: Storage, g: Storage): Storage {
    return this.wrap(abs2Grad(dataOf(z), dataOf(g)));
  }

  /** Poisson training terms and reported NLL terms, as the unfused op chain computes them. */
  poissonTerms(
    intensity: Storage,
    s2: Storage,
    counts: Storage,
    floor: number,
  ): { terms: Storage; nll: Storage } {
    const out = poissonTerms(dataOf(intensity), dataOf(s2)[0], dataOf(counts), floor);
    return { terms: this.wrap(out.terms), nll: this.wrap(out.nll) };
  }

  /** Gradient of the Poisson training terms, as the autograd chain computes it. */
  poissonTermsGrad(
    g: Storage,
    intensity: Storage,
    s2: Storage,
    counts: Storage,
    floor: number,
  ): { intensity: Storage; scale: Storage } {
    const d = poissonTermsGrad(dataOf(g), dataOf(intensity), dataOf(s2)[0], dataOf(counts), floor);
    return { intensity: this.wrap(d.intensity), scale: this.wrap(d.scale) };
  }

  /** Merge weights, as the unfused op chain computes them. */
  mergeWeights(shift: Storage, g: MergeGeometry): { masks: Storage; inverse: Storage } {
    const { masks, inverse } = mergeWeights(dataOf(shift), g);
    return { masks: this.wrap(masks), inverse: this.wrap(inverse) };
  }

  /** The merge onto each group's canvas, as the unfused op chain computes it. */
  mergeCanvas(p: Storage, s: Storage, mk: Storage, inv: Storage, g: OverlapGeometry): Storage {
    const [a, b, c, d] = [p, s, mk, inv].map(dataOf);
    return this.wrap(overlap.mergeCanvas(a, b, c, d, g));
  }

  /** Gradient of the merge w.r.t. the patches, as autograd differentiated the chain. */
  mergeCanvasAdjoint(
    gr: Storage,
    s: Storage,
    mk: Storage,
    inv: Storage,
    g: OverlapGeometry,
  ): Storage {
    const [a, b, c, d] = [gr, s, mk, inv].map(dataOf);
    return this.wrap(overlap.mergeCanvasAdjoint(a, b, c, d, g));
  }

  /** Each member's window of its canvas times the probe, as the unfused chain computes it. */
  extractIlluminate(canvas: Storage, s: Storage, probe: Storage, g: OverlapGeometry): Storage {
    return this.wrap(overlap.extractIlluminate(dataOf(canvas), dataOf(s), dataOf(probe), g));
  }

  /** Gradient of extract-and-illuminate w.r.t. the canvas, as autograd differentiated it. */
  extractIlluminateAdjoint(gr: Storage, s: Storage, probe: Storage, g: OverlapGeometry): Storage {
    return this.wrap(overlap.extractIlluminateAdjoint(dataOf(gr), dataOf(s), dataOf(probe), g));
  }

  /** The decoder heads' epilogue, as the unfused op chain computes it. */
  objectFromHeads(ac: Storage, ab: Storage, pc: Storage, pb: Storage, g: HeadGeometry): Storage {
    const [a, b, c, d] = [ac, ab, pc, pb].map(dataOf);
    return this.wrap(objectFromHeads(a, b, c, d, g));
  }

  /** Gradient of the heads' epilogue w.r.t. one head, as autograd differentiated the chain. */
  objectFromHeadsGrad(
    gy: Storage,
    inputs: readonly [Storage, Storage, Storage, Storage],
    g: HeadGeometry,
    phase: boolean,
  ): { central: Storage; border: Storage } {
    const [a, b, c, d] = inputs.map(dataOf);
    const out = objectFromHeadsGrad(dataOf(gy), a, b, c, d, g, phase);
    return { central: this.wrap(out.central), border: this.wrap(out.border) };
  }

  /** The photon scale's factors, as the unfused op chain computes them. */
  photonScale(logScale: Storage, s0: number): { input: Storage; rate: Storage } {
    const { input, rate } = photonScale(dataOf(logScale), s0);
    return { input: this.wrap(input), rate: this.wrap(rate) };
  }

  /** Gradient of one photon-scale factor, as autograd differentiated the chain. */
  photonScaleGrad(g: Storage, logScale: Storage, s0: number, rate: boolean): Storage {
    return this.wrap(photonScaleGrad(dataOf(g), dataOf(logScale), s0, rate));
  }

  /** Photon counts (a·x)², as the unfused chain affine → square computes them. */
  photonCounts(x: Storage, a: number): Storage {
    return this.wrap(unary(unary(dataOf(x), "affine", a, 0), "square", 0, 0));
  }

  /** The full Poisson NLL per element, as the unfused op chain computes it. */
  poissonNll(rate: Storage, counts: Storage): Storage {
    return this.wrap(poissonNll(dataOf(rate), dataOf(counts)));
  }
}
