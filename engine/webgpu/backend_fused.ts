/**
 * The fused kernels of the WebGPU backend (engine/fused_kernels.ts) as thin wrappers over the
 * kernel modules (overlap, heads, fused, the far-field and split kernels), in a base class the
 * backend extends, together with the storage checks every wrapper uses.
 */
import type {
  FarFieldEps,
  FusedKernels,
  HeadGeometry,
  MergeGeometry,
  OverlapGeometry,
} from "../fused_kernels.ts";
import type { Storage } from "../storage.ts";
import { splitChannelsKernel } from "../../shaders/layout.ts";
import { farFieldResidualsGradKernel, farFieldResidualsKernel } from "../../shaders/farfield.ts";
import * as overlap from "./overlap.ts";
import * as heads from "./heads.ts";
import * as fused from "./fused.ts";
import { f32bits, type GpuRuntime, GpuStorage } from "./runtime.ts";

/**
 * The WebGPU backend's fused kernels and storage checks; {@link WebGpuBackend} adds memory
 * and the primitive kernels.
 *
 * @internal
 */
export abstract class WebGpuFusedOps implements FusedKernels {
  /** Device-side state: pool, pipelines, pending command encoder. */
  readonly rt: GpuRuntime;

  /** Wrap the runtime `rt`. */
  constructor(rt: GpuRuntime) {
    this.rt = rt;
  }

  /** Workgroups for a grid-stride kernel over `n` items (capped per runtime). */
  protected groups(n: number): number {
    return this.rt.gridGroups(n);
  }

  /** The GPU storage behind `s`; throws for foreign or released storages. */
  protected st(s: Storage): GpuStorage {
    if (!(s instanceof GpuStorage)) {
      throw new Error("storage does not belong to the WebGPU backend");
    }
    if (s.released) throw new Error("WebGPU storage used after release");
    return s;
  }

  /** Throw before anything is allocated if an input is foreign or released. */
  protected validate(...inputs: Storage[]): void {
    for (const s of inputs) this.st(s);
  }

  /** Split axis 1 at `first` in one pass (vec4 groups when the plane allows). */
  splitChannels(
    x: Storage,
    outer: number,
    channels: number,
    plane: number,
    first: number,
  ): { a: Storage; b: Storage } {
    this.validate(x);
    const a = this.rt.alloc(outer * first * plane);
    const b = this.rt.alloc(outer * (channels - first) * plane);
    const v = plane % 4 === 0, p = v ? plane / 4 : plane, n = outer * channels * p;
    const params = new Uint32Array([n, channels, p, first]);
    this.rt.dispatch(splitChannelsKernel(v), params, [this.st(x), a, b], this.groups(n));
    return { a, b };
  }

  /** Per-pixel amplitude and Poisson residuals of far fields (one fused kernel). */
  farFieldResiduals(psi: Storage, amplitude: Storage, eps: FarFieldEps): Storage {
    this.validate(psi, amplitude);
    const n = amplitude.size, y = this.rt.alloc(2 * n);
    const params = new Uint32Array([n, f32bits(eps.amplitude), f32bits(eps.poisson), 0]);
    const bufs = [this.st(psi), this.st(amplitude), y];
    this.rt.dispatch(farFieldResidualsKernel(), params, bufs, this.groups(n));
    return y;
  }

  /** Gradient of polar (one kernel, both outputs). */
  polarGrad(g: Storage, amp: Storage, phase: Storage): { amp: Storage; phase: Storage } {
    this.validate(g, amp, phase);
    return fused.polarGrad(this.rt, this.st(g), this.st(amp), this.st(phase));
  }

  /** |z|² per complex element. */
  abs2(z: Storage): Storage {
    return fused.abs2(this.rt, this.st(z));
  }

  /** Gradient of abs2. */
  abs2Grad(z: Storage, g: Storage): Storage {
    this.validate(z, g);
    return fused.abs2Grad(this.rt, this.st(z), this.st(g));
  }

  /** Merge weights (one fused kernel). */
  mergeWeights(shift: Storage, g: MergeGeometry): { masks: Storage; inverse: Storage } {
    return fused.mergeWeights(this.rt, this.st(shift), g);
  }

  /** The merge onto each group's canvas (one fused kernel). */
  mergeCanvas(p: Storage, s: Storage, mk: Storage, inv: Storage, g: OverlapGeometry): Storage {
    return overlap.mergeCanvas(this.rt, this.st(p), this.st(s), this.st(mk), this.st(inv), g);
  }

  /** Gradient of the merge w.r.t. the patches (one kernel). */
  mergeCanvasAdjoint(
    gr: Storage,
    s: Storage,
    mk: Storage,
    inv: Storage,
    g: OverlapGeometry,
  ): Storage {
    const [a, b, c, d] = [gr, s, mk, inv].map((x) => this.st(x));
    return overlap.mergeCanvasAdjoint(this.rt, a, b, c, d, g);
  }

  /** Each member's window of its canvas times the probe (one fused kernel). */
  extractIlluminate(canvas: Storage, s: Storage, probe: Storage, g: OverlapGeometry): Storage {
    return overlap.extractIlluminate(this.rt, this.st(canvas), this.st(s), this.st(probe), g);
  }

  /** Gradient of extract-and-illuminate w.r.t. the canvas (one kernel). */
  extractIlluminateAdjoint(gr: Storage, s: Storage, probe: Storage, g: OverlapGeometry): Storage {
    return overlap.extractIlluminateAdjoint(this.rt, this.st(gr), this.st(s), this.st(probe), g);
  }

  /** The decoder heads' epilogue (one fused kernel). */
  objectFromHeads(ac: Storage, ab: Storage, pc: Storage, pb: Storage, g: HeadGeometry): Storage {
    return heads.objectFromHeads(this.rt, [ac, ab, pc, pb].map((s) => this.st(s)), g);
  }

  /** Gradient of the heads' epilogue w.r.t. one head (one kernel). */
  objectFromHeadsGrad(
    gy: Storage,
    inputs: readonly [Storage, Storage, Storage, Storage],
    g: HeadGeometry,
    phase: boolean,
  ): { central: Storage; border: Storage } {
    const st = inputs.map((s) => this.st(s));
    return heads.objectFromHeadsGrad(this.rt, this.st(gy), st, g, phase);
  }

  /** The photon scale's factors (one kernel). */
  photonScale(logScale: Storage, s0: number): { input: Storage; rate: Storage } {
    return fused.photonScale(this.rt, this.st(logScale), s0);
  }

  /** Gradient of one photon-scale factor (one kernel). */
  photonScaleGrad(g: Storage, logScale: Storage, s0: number, rate: boolean): Storage {
    return fused.photonScaleGrad(this.rt, this.st(g), this.st(logScale), s0, rate);
  }

  /** Photon counts (a·x)² (one kernel). */
  photonCounts(x: Storage, a: number): Storage {
    return fused.photonCounts(this.rt, this.st(x), a);
  }

  /** Poisson training terms and reported NLL terms (one kernel). */
  poissonTerms(
    intensity: Storage,
    s2: Storage,
    counts: Storage,
    floor: number,
  ): { terms: Storage; nll: Storage } {
    const [i, s, k] = [intensity, s2, counts].map((x) => this.st(x));
    return fused.poissonTerms(this.rt, i, s, k, floor);
  }

  /** Gradient of the Poisson training terms (one kernel). */
  poissonTermsGrad(
    g: Storage,
    intensity: Storage,
    s2: Storage,
    counts: Storage,
    floor: number,
  ): { intensity: Storage; scale: Storage } {
    const [gs, i, s, k] = [g, intensity, s2, counts].map((x) => this.st(x));
    return fused.poissonTermsGrad(this.rt, gs, i, s, k, floor);
  }

  /** The full Poisson NLL per element (one fused kernel). */
  poissonNll(rate: Storage, counts: Storage): Storage {
    this.validate(rate, counts);
    return fused.poissonNll(this.rt, this.st(rate), this.st(counts));
  }

  /** Gradient of the far-field residuals w.r.t. psi (one fused kernel). */
  farFieldResidualsGrad(psi: Storage, amplitude: Storage, gy: Storage, eps: FarFieldEps): Storage {
    this.validate(psi, amplitude, gy);
    const n = amplitude.size, y = this.rt.alloc(2 * n);
    const params = new Uint32Array([n, f32bits(eps.amplitude), f32bits(eps.poisson), 0]);
    const bufs = [this.st(psi), this.st(amplitude), this.st(gy), y];
    this.rt.dispatch(farFieldResidualsGradKernel(), params, bufs, this.groups(n));
    return y;
  }
}
