/**
 * Iterative (gradient-based) reconstruction of object, probe and positions on the engine
 * (docs/refine.md): mini-batches of spatially spread positions, gradients by autograd through
 * {@link forwardBatch}, and one of two step rules:
 * - "lsqml" (default): the object gradient divided by the batch's summed probe intensity on the
 *   canvas (+ δ·its maximum), the probe gradient by the batch's summed |O_j|² (+ δ·max), as in
 *   LSQ-ML / ePIE with a full step;
 * - "adam": Adam on the raw gradients, the probe's learning rate scaled by its magnitude.
 * After every probe update the probe power is put back to its initial value and the object
 * divided by the same factor (the model is unchanged; O·c, P/c is the scale ambiguity).
 * Positions move once per iteration by a Gauss–Newton step on their sub-pixel shifts, each step
 * clamped to ±0.5 px, and the mean step removed (the mean position is fixed).
 *
 * The iteration reads from the device once: the residual sums (and, when refining positions,
 * their gradients) concatenated into one tensor.
 */
import {
  abs2,
  Adam,
  add,
  backward,
  concat,
  cropPatches,
  div,
  farFieldResiduals,
  keep,
  max,
  mul,
  noGrad,
  reshape,
  Rng,
  scatterAddPatches,
  sqrt,
  stack,
  sub,
  sum,
  type Tensor,
  tensor,
  tidy,
  zeros,
} from "../../engine/mod.ts";
import {
  forwardBatch,
  forwardWithProbes,
  type FrequencyGrid,
  lossSeed,
  phaseRamps,
  poissonNllConstant,
  type RefineLoss,
  residualSums,
  shiftProbe,
  unshiftPatterns,
} from "./forward.ts";
import {
  type CanvasLayout,
  diskMask,
  fftFrequencies,
  illuminatedObjectPower,
  spreadBatches,
  windowsOf,
} from "./geometry.ts";

/** How the gradients become updates (see the module comment). */
export type StepRule = "lsqml" | "adam";

/** The measured data and nominal positions. */
export interface RefineData {
  /** Pattern side N. */
  n: number;
  /** Measured amplitudes √counts (M, N, N), zero frequency at (N/2, N/2). */
  amplitude: Float32Array;
  /** Scan columns in object pixels (M). */
  xcoords: Float64Array;
  /** Scan rows in object pixels (M). */
  ycoords: Float64Array;
}

/** The starting point: the canvas, the object on it and the probe. */
export interface RefineStart {
  /** Where the canvas lies on the object grid. */
  layout: CanvasLayout;
  /** Object (height, width) complex, interleaved. */
  object: Float32Array;
  /** Probe (N, N) complex, interleaved; its power is rescaled to fit the data. */
  probe: Float32Array;
}

/** Settings of a reconstruction. */
export interface RefineOptions {
  /** Positions per update. */
  batchSize: number;
  /** Data loss. */
  loss: RefineLoss;
  /** Update the probe (from iteration `probeStart`). */
  refineProbe: boolean;
  /** Update the positions (from iteration `positionStart`). */
  refinePositions: boolean;
  /** Seed of the batch order. */
  seed: number;
  /** First iteration (0-based) with probe updates (default 5). */
  probeStart?: number;
  /** First iteration (0-based) with position updates (default 10). */
  positionStart?: number;
  /** Step rule (default "lsqml"). */
  stepRule?: StepRule;
  /** lsqml: fraction of the full object step (default 1). */
  objectStep?: number;
  /** lsqml: fraction of the full probe step (default 1). */
  probeStep?: number;
  /** lsqml: regulariser δ of both preconditioners, relative to their maximum (default 0.1). */
  regularizer?: number;
  /** adam: object learning rate (default 0.02; the probe's is this times its rms amplitude). */
  adamLr?: number;
  /** Radius (px) of a circular real-space probe support; none by default. */
  probeSupport?: number | null;
}

/** The residuals of one iteration, measured during it (before each batch's update). */
export interface IterationReport {
  /** 1-based iteration number. */
  iteration: number;
  /** Fourier R-factor Σ(|Ψ| − A)² / ΣA². */
  rFactor: number;
  /** Mean Poisson negative log-likelihood per pattern, Σ(λ − I ln λ + ln Γ(I+1)) / M. */
  nll: number;
  /** Seconds this iteration took. */
  seconds: number;
}

/** The current estimate, on the host. */
export interface RefineSnapshot {
  /** Canvas geometry. */
  layout: CanvasLayout;
  /** Object (height, width) complex, interleaved. */
  object: Float32Array;
  /** Probe (N, N) complex, interleaved. */
  probe: Float32Array;
  /** Current scan columns. */
  xcoords: Float64Array;
  /** Current scan rows. */
  ycoords: Float64Array;
}

/** One reconstruction in progress: device state plus the host positions. */
export class Refiner {
  /** 0-based index of the next iteration. */
  iteration = 0;
  readonly #data: RefineData;
  readonly #opts: Required<RefineOptions>;
  readonly #layout: CanvasLayout;
  readonly #object: Tensor;
  readonly #probe: Tensor;
  /** Per batch: its measured amplitudes [B, N, N]. */
  readonly #batchAmplitudes: Tensor[];
  /** Per batch: the phase ramps of its sub-pixel shifts, while the positions are fixed. */
  #ramps: (Tensor | null)[];
  /**
   * Per batch: its shifted probes and their canvas preconditioner, while probe and positions are
   * fixed.
   */
  /** Backward seeds of the loss per batch size ({@link lossSeed}). */
  readonly #seeds = new Map<number, Tensor>();
  #probeCache: ({ probes: Tensor; denom: Tensor } | null)[];
  readonly #grid: FrequencyGrid;
  readonly #support: Tensor | null;
  readonly #batches: number[][];
  readonly #rng: Rng;
  readonly #xcoords: Float64Array;
  readonly #ycoords: Float64Array;
  readonly #targetPower: number;
  readonly #sumA2: number;
  /** ε of the amplitude loss (only keeps √'s gradient finite) and of the Poisson logarithm. */
  readonly #eps: { amplitude: number; poisson: number };
  readonly #nllConstant: number;
  #adam: { object: Adam; probe: Adam } | null = null;

  /** Upload the data and the starting point to the current backend. */
  constructor(data: RefineData, start: RefineStart, options: RefineOptions) {
    const n = data.n, m = data.xcoords.length;
    this.#data = data;
    this.#opts = {
      probeStart: 5,
      positionStart: 10,
      stepRule: "lsqml",
      objectStep: 1,
      probeStep: 1,
      regularizer: 0.1,
      adamLr: 0.02,
      probeSupport: null,
      ...options,
    };
    this.#layout = start.layout;
    this.#xcoords = Float64Array.from(data.xcoords);
    this.#ycoords = Float64Array.from(data.ycoords);
    let sumA2 = 0, probePower = 0;
    for (const a of data.amplitude) sumA2 += a * a;
    for (const v of start.probe) probePower += v * v;
    this.#sumA2 = sumA2;
    this.#targetPower = sumA2 / m /
      illuminatedObjectPower(start.layout, start.object, start.probe, data.xcoords, data.ycoords);
    const meanCount = sumA2 / (m * n * n);
    this.#eps = { amplitude: 1e-9 * meanCount, poisson: 1e-4 * meanCount };
    const probeScale = probePower > 0 ? Math.sqrt(this.#targetPower / probePower) : 1;
    const { height, width } = start.layout;
    this.#object = keep(tensor(start.object, [height, width, 2], { requiresGrad: true }));
    this.#probe = keep(tensor(start.probe.map((v) => v * probeScale), [n, n, 2]));
    this.#nllConstant = poissonNllConstant(data.amplitude);
    const k = fftFrequencies(n);
    this.#grid = {
      kx: keep(tensor(k, [1, 1, n])),
      ky: keep(tensor(k, [1, n, 1])),
    };
    const radius = this.#opts.probeSupport;
    this.#support = radius === null ? null : keep(tensor(diskMask(n, radius), [n, n, 1]));
    this.#batches = spreadBatches(data.xcoords, data.ycoords, options.batchSize);
    this.#batchAmplitudes = tidy(() =>
      noGrad(() => {
        const amplitude = unshiftPatterns(data.amplitude, m, n);
        return this.#batches.map((b) => {
          const at = tensor(Float32Array.from(b.flatMap((j) => [j * n, 0])), [b.length, 2]);
          return keep(cropPatches(amplitude, at, n));
        });
      })
    );
    this.#ramps = this.#batches.map(() => null);
    this.#probeCache = this.#batches.map(() => null);
    this.#rng = new Rng(options.seed);
    if (this.#opts.stepRule === "adam") {
      const rms = Math.sqrt(this.#targetPower / (n * n));
      this.#adam = {
        object: new Adam([this.#object], { lr: this.#opts.adamLr }),
        probe: new Adam([this.#probe], { lr: this.#opts.adamLr * rms }),
      };
    }
  }

  /** Run one iteration (a pass over every position) and report its residuals. */
  async step(): Promise<IterationReport> {
    const started = performance.now();
    const o = this.#opts, it = this.iteration;
    const doProbe = o.refineProbe && it >= o.probeStart;
    const doPositions = o.refinePositions && it >= o.positionStart;
    this.#probe.requiresGrad = doProbe;
    if (doProbe) this.#dropCaches(false);
    let residual = keep(zeros([2], this.#object.backend));
    const pieces: Tensor[] = [];
    const order = this.#rng.shuffle([...this.#batches.keys()]);
    for (const b of order) {
      const stepped = tidy(() => this.#batchStep(b, doProbe, doPositions));
      const next = keep(noGrad(() => add(residual, stepped.residual)));
      residual.dispose();
      stepped.residual.dispose();
      residual = next;
      if (stepped.positions) pieces.push(stepped.positions);
    }
    const flat = tidy(() =>
      noGrad(() => concat([residual, ...pieces.map((p) => reshape(p, [-1]))], 0))
    );
    const host = await flat.data();
    flat.dispose();
    residual.dispose();
    for (const p of pieces) p.dispose();
    if (doPositions) {
      this.#movePositions(order, host.subarray(2));
      this.#dropCaches(true);
    }
    this.iteration++;
    return {
      iteration: this.iteration,
      rFactor: host[0] / this.#sumA2,
      nll: (host[1] + this.#nllConstant) / this.#data.xcoords.length,
      seconds: (performance.now() - started) / 1000,
    };
  }

  /** Forward, backward and update for batch `b`; returns its residual sums and position terms. */
  #batchStep(
    b: number,
    doProbe: boolean,
    doPositions: boolean,
  ): { residual: Tensor; positions: Tensor | null } {
    const idx = this.#batches[b];
    const { corners, shifts } = windowsOf(this.#layout, this.#xcoords, this.#ycoords, idx);
    const cornerT = tensor(corners, [idx.length, 2]);
    const shiftT = tensor(shifts, [idx.length, 2], { requiresGrad: doPositions });
    const cached = doPositions ? null : this.#shifted(b, shiftT, cornerT, doProbe);
    const f = cached === null
      ? forwardBatch(this.#object, this.#probe, cornerT, shiftT, this.#grid)
      : forwardWithProbes(this.#object, cached.probes, cornerT);
    // Both residuals are reported; the loss is one of them.
    const residuals = farFieldResiduals(f.farField, this.#batchAmplitudes[b], this.#eps);
    backward(residuals, this.#seed(idx.length));
    return noGrad(() => {
      const residual = keep(residualSums(residuals));
      const positions = doPositions
        ? keep(concat([shiftT.grad!, this.#shiftCurvature(f.probes, cornerT)], 1))
        : null;
      shiftT.grad?.dispose(); // a leaf's gradient is kept out of tidy scopes
      this.#update(f.probes, f.patches, cornerT, doProbe, cached?.denom ?? null);
      return { residual, positions };
    });
  }

  /** The backward seed of the loss for a batch of `size` positions (kept per size). */
  #seed(size: number): Tensor {
    let seed = this.#seeds.get(size);
    if (seed === undefined) {
      seed = keep(lossSeed(size, this.#data.n, this.#opts.loss));
      this.#seeds.set(size, seed);
    }
    return seed;
  }

  /**
   * The shifted probes of batch `b` from the cached phase ramps (positions fixed); with the probe
   * fixed too, the cached probes and their canvas preconditioner (denom null while the probe
   * changes: computed per batch then).
   */
  #shifted(
    b: number,
    shifts: Tensor,
    corners: Tensor,
    doProbe: boolean,
  ): { probes: Tensor; denom: Tensor | null } {
    const n = this.#data.n;
    const ramp = this.#ramps[b] ??= keep(noGrad(() => phaseRamps(shifts, this.#grid, n)));
    if (doProbe) return { probes: shiftProbe(this.#probe, ramp), denom: null };
    return this.#probeCache[b] ??= noGrad(() => {
      const probes = keep(shiftProbe(this.#probe, ramp));
      return { probes, denom: keep(this.#canvasDenominator(probes, corners)) };
    });
  }

  /** The object step's preconditioner: Σ_j |P_j|² on the canvas + δ·its max, [h, w, 1]. */
  #canvasDenominator(probes: Tensor, corners: Tensor): Tensor {
    const { height, width } = this.#layout;
    const illum = scatterAddPatches(abs2(probes), corners, height, width);
    return reshape(add(illum, mul(max(illum), this.#opts.regularizer)), [height, width, 1]);
  }

  /** Forget the cached shifted probes (the probe changes), and with `ramps` the phase ramps. */
  #dropCaches(ramps: boolean): void {
    for (const c of this.#probeCache) c?.probes.dispose(), c?.denom.dispose();
    this.#probeCache = this.#batches.map(() => null);
    if (!ramps) return;
    for (const r of this.#ramps) r?.dispose();
    this.#ramps = this.#batches.map(() => null);
  }

  /**
   * Gauss–Newton curvature of the loss in each position's shift, [B, 2]: Σ |P_j|²·|∂O_j|² along
   * x and y (central differences on the canvas). Only the object's slope counts: moving the probe
   * over a flat object translates the exit wave, which leaves the intensities unchanged.
   */
  #shiftCurvature(probes: Tensor, corners: Tensor): Tensor {
    const n = this.#data.n, b = corners.shape[0];
    const lit = abs2(probes);
    const slope = (dy: number, dx: number) => {
      const step = tensor([dy, dx], [1, 2]);
      const ahead = cropPatches(this.#object, add(corners, step), n);
      const behind = cropPatches(this.#object, sub(corners, step), n);
      return sum(mul(lit, abs2(mul(sub(ahead, behind), 0.5))), [1, 2]);
    };
    return reshape(stack([slope(0, 1), slope(1, 0)], 1), [b, 2]);
  }

  /** Apply the step rule to the object (and the probe), then fix the probe power. */
  #update(
    probes: Tensor,
    patches: Tensor,
    corners: Tensor,
    doProbe: boolean,
    cachedDenom: Tensor | null,
  ): void {
    const o = this.#opts, obj = this.#object, probe = this.#probe;
    const n = this.#data.n;
    // Full-step factor: the autograd gradient is 2·∂L/∂O*; the Poisson loss is ≈ 2× the
    // amplitude loss near the solution (its curvature doubles).
    const full = o.loss === "amplitude" ? 0.5 : 0.25;
    if (this.#adam !== null) {
      this.#adam.object.step();
      if (doProbe) this.#adam.probe.step();
    } else {
      const dO = div(obj.grad!, cachedDenom ?? this.#canvasDenominator(probes, corners));
      obj.assign(sub(obj, mul(dO, full * o.objectStep)));
      if (doProbe) {
        const objPower = sum(abs2(patches), 0);
        const pDenom = add(objPower, mul(max(objPower), o.regularizer));
        const dP = div(probe.grad!, reshape(pDenom, [n, n, 1]));
        probe.assign(sub(probe, mul(dP, full * o.probeStep)));
      }
    }
    for (const t of [obj, probe]) {
      t.grad?.dispose();
      t.grad = null;
    }
    if (!doProbe) return;
    if (this.#support !== null) probe.assign(mul(probe, this.#support));
    const c = sqrt(div(this.#targetPower, sum(abs2(probe))));
    probe.assign(mul(probe, c));
    obj.assign(div(obj, c));
  }

  /** Gauss–Newton position steps from the gradients and curvatures of one iteration. */
  #movePositions(order: number[], terms: Float32Array): void {
    const full = this.#opts.loss === "amplitude" ? 0.5 : 0.25;
    const moves: [number, number, number][] = [];
    let k = 0;
    for (const b of order) {
      for (const j of this.#batches[b]) {
        const [gx, gy, hx, hy] = terms.subarray(4 * k, 4 * k + 4);
        const clampStep = (g: number, h: number) =>
          h > 0 ? Math.max(-0.5, Math.min(0.5, -full * g / h)) : 0;
        moves.push([j, clampStep(gx, hx), clampStep(gy, hy)]);
        k++;
      }
    }
    const meanX = moves.reduce((s, m) => s + m[1], 0) / moves.length;
    const meanY = moves.reduce((s, m) => s + m[2], 0) / moves.length;
    for (const [j, dx, dy] of moves) {
      this.#xcoords[j] += dx - meanX;
      this.#ycoords[j] += dy - meanY;
    }
  }

  /** Copy the current estimate to the host. */
  async snapshot(): Promise<RefineSnapshot> {
    return {
      layout: this.#layout,
      object: await this.#object.data(),
      probe: await this.#probe.data(),
      xcoords: Float64Array.from(this.#xcoords),
      ycoords: Float64Array.from(this.#ycoords),
    };
  }

  /** Release every device tensor. */
  dispose(): void {
    this.#dropCaches(true);
    const own = [this.#object, this.#probe, this.#grid.kx, this.#grid.ky, this.#support];
    for (const t of [...own, ...this.#batchAmplitudes, ...this.#seeds.values()]) t?.dispose();
    for (const a of [this.#adam?.object, this.#adam?.probe]) {
      for (const t of a?.state().values() ?? []) t.dispose();
    }
  }
}
