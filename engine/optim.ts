/** Optimizers (Adam/AdamW with a fused kernel, SGD with momentum) and learning-rate schedules. */
import type { AdamSlot, Backend } from "./backend.ts";
import { noGrad } from "./autograd.ts";
import { add, mul, zeros } from "./ops/index.ts";
import { keep, type Tensor, tidy } from "./tensor.ts";

/** Common interface of the optimizers. */
export interface Optimizer {
  /** Learning rate used by the next `step()`. */
  lr: number;
  /** Apply one update from the parameters' `.grad` (parameters without a gradient are skipped). */
  step(): void;
  /** Release and clear every parameter's gradient. */
  zeroGrad(): void;
  /** Internal state (moments) as named tensors, for checkpoints. */
  state(): Map<string, Tensor>;
}

function zeroGrads(params: readonly Tensor[]): void {
  for (const p of params) {
    p.grad?.dispose();
    p.grad = null;
  }
}

/** Options of {@link Adam}. */
export interface AdamOptions {
  /** Learning rate (default 1e-3). */
  lr?: number;
  /** First-moment decay (default 0.9). */
  beta1?: number;
  /** Second-moment decay (default 0.999). */
  beta2?: number;
  /** Denominator floor (default 1e-8). */
  eps?: number;
  /** Decoupled weight decay (AdamW); 0 = plain Adam. */
  weightDecay?: number;
  /**
   * Decay d of an exponential moving average of the weights, updated after every step; 0
   * (default) keeps none. After t steps the average is Σ_k d^(t−k)·p_k / Σ_k d^(t−k) over the
   * weights p_1 … p_t after each step (bias-corrected: the initial weights take no part, so a
   * short run's average does not lean on them).
   */
  emaDecay?: number;
}

/** Adam (Kingma & Ba) with optional decoupled weight decay, fused kernels over all parameters. */
export class Adam implements Optimizer {
  /** Learning rate of the next step. */
  lr: number;
  /** First-moment decay. */
  readonly beta1: number;
  /** Second-moment decay. */
  readonly beta2: number;
  /** Denominator floor. */
  readonly eps: number;
  /** Decoupled weight decay. */
  readonly weightDecay: number;
  /** Decay of the weights' moving average (0: none kept). */
  readonly emaDecay: number;
  /** Number of steps taken. */
  t = 0;
  /** Per parameter both moments, [m | v] (shape [2, ...p.shape]). */
  #mv: Tensor[];
  #e: Tensor[] | null;

  /** Create an optimizer over `params` (leaf tensors with requiresGrad). */
  constructor(readonly params: readonly Tensor[], opts: AdamOptions = {}) {
    this.lr = opts.lr ?? 1e-3;
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0;
    this.emaDecay = opts.emaDecay ?? 0;
    if (!(this.emaDecay >= 0 && this.emaDecay < 1)) {
      throw new RangeError(`Adam: emaDecay must lie in [0, 1), got ${this.emaDecay}`);
    }
    this.#mv = params.map((p) => keep(zeros([2, ...p.shape], p.backend)));
    this.#e = this.emaDecay > 0 ? params.map((p) => noGrad(() => keep(mul(p, 1)))) : null;
  }

  /**
   * The decay of step t that keeps the average bias-corrected: with S_t = Σ_{k≤t} d^(t−k) =
   * (1 − d^t)/(1 − d), e_t = (d·S_{t−1}·e_{t−1} + p_t)/S_t, i.e. e ← d_t·e + (1 − d_t)·p with
   * d_t = d·(1 − d^(t−1))/(1 − d^t) (0 at t = 1: the first average is the first step's weights).
   */
  #stepDecay(): number {
    const d = this.emaDecay;
    return d === 0 ? 0 : d * (1 - d ** (this.t - 1)) / (1 - d ** this.t);
  }

  /** The weights' moving averages, in parameter order (null when none are kept). */
  averages(): readonly Tensor[] | null {
    return this.#e;
  }

  /**
   * Exchange every parameter's storage with its moving average's (no copy), so the model
   * computes with the averaged weights until the next call swaps them back. A no-op without
   * averages. Never step while swapped.
   */
  swapAverages(): void {
    this.#e?.forEach((e, i) => this.params[i].swap(e));
  }

  /**
   * Runs `fn` with the parameters holding their moving averages (where kept), and swaps them back
   * afterwards, also when `fn` throws.
   */
  async withAverages<T>(fn: () => Promise<T>): Promise<T> {
    this.swapAverages();
    try {
      return await fn();
    } finally {
      this.swapAverages();
    }
  }

  step(): void {
    this.t++;
    const h = {
      lr: this.lr,
      beta1: this.beta1,
      beta2: this.beta2,
      eps: this.eps,
      weightDecay: this.weightDecay,
      biasCorrection1: 1 - this.beta1 ** this.t,
      biasCorrection2: 1 - this.beta2 ** this.t,
      emaDecay: this.#stepDecay(),
    };
    // One backend call per backend with every parameter that has a gradient (a backend may
    // update many parameters per kernel launch).
    const slots = new Map<Backend, AdamSlot[]>();
    this.params.forEach((p, i) => {
      if (p.grad === null) return;
      const slot = {
        p: p.storage,
        g: p.grad.storage,
        mv: this.#mv[i].storage,
        ...(this.#e === null ? {} : { e: this.#e[i].storage }),
      };
      slots.set(p.backend, [...slots.get(p.backend) ?? [], slot]);
    });
    for (const [backend, list] of slots) backend.adam(list, h);
  }

  zeroGrad(): void {
    zeroGrads(this.params);
  }

  /**
   * `mv.<i>`: parameter i's moments, shape [2, ...p.shape] (m, then v); with averages `e.<i>`, its
   * moving average.
   */
  state(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    this.params.forEach((_, i) => {
      out.set(`mv.${i}`, this.#mv[i]);
      if (this.#e !== null) out.set(`e.${i}`, this.#e[i]);
    });
    return out;
  }
}

/** Options of {@link Sgd}. */
export interface SgdOptions {
  /** Learning rate (default 1e-2). */
  lr?: number;
  /** Momentum μ (default 0). */
  momentum?: number;
  /** L2 penalty added to the gradient. */
  weightDecay?: number;
}

/** Stochastic gradient descent with (heavy-ball) momentum: v ← μv + g; p ← p − lr·v. */
export class Sgd implements Optimizer {
  /** Learning rate of the next step. */
  lr: number;
  /** Momentum μ. */
  readonly momentum: number;
  /** L2 penalty. */
  readonly weightDecay: number;
  #velocity: (Tensor | null)[];

  /** Create an optimizer over `params`. */
  constructor(readonly params: readonly Tensor[], opts: SgdOptions = {}) {
    this.lr = opts.lr ?? 1e-2;
    this.momentum = opts.momentum ?? 0;
    this.weightDecay = opts.weightDecay ?? 0;
    this.#velocity = params.map(() => null);
  }

  step(): void {
    noGrad(() =>
      this.params.forEach((p, i) => {
        if (p.grad === null) return;
        const g = p.grad;
        tidy(() => {
          const grad = this.weightDecay ? add(g, mul(p, this.weightDecay)) : g;
          let direction = grad;
          if (this.momentum) {
            const prev = this.#velocity[i];
            direction = keep(prev === null ? mul(grad, 1) : add(mul(prev, this.momentum), grad));
            prev?.dispose();
            this.#velocity[i] = direction;
          }
          p.assign(add(p, mul(direction, -this.lr)));
        });
      })
    );
  }

  zeroGrad(): void {
    zeroGrads(this.params);
  }

  state(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    this.#velocity.forEach((v, i) => v && out.set(`velocity.${i}`, v));
    return out;
  }
}
