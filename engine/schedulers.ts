/** Learning-rate schedules, stepped once per epoch. */

/** A schedule: `lrForEpoch` gives the rate for an epoch (0-based), given the last validation loss. */
export interface LrScheduler {
  /** Learning rate for `epoch`; `lastValLoss` is the previous epoch's monitored loss, if any. */
  lrForEpoch(epoch: number, lastValLoss?: number): number;
}

/** The same rate every epoch. */
export class ConstantLr implements LrScheduler {
  /** Rate `lr` forever. */
  constructor(readonly lr: number) {}
  lrForEpoch(): number {
    return this.lr;
  }
}

/** lr·γ^epoch. */
export class ExponentialLr implements LrScheduler {
  /** Decay `lr` by `gamma` per epoch (upstream default 0.95). */
  constructor(readonly lr: number, readonly gamma = 0.95) {}
  lrForEpoch(epoch: number): number {
    return this.lr * this.gamma ** epoch;
  }
}

/** Linear warm-up from 0.1·lr to lr, then cosine decay to lr·minRatio at `totalEpochs`. */
export class WarmupCosineLr implements LrScheduler {
  /** Warm up over `warmupEpochs`, decay until `totalEpochs`. */
  constructor(
    readonly lr: number,
    readonly totalEpochs: number,
    readonly warmupEpochs = 0,
    readonly minRatio = 0.1,
  ) {}
  lrForEpoch(epoch: number): number {
    if (epoch < this.warmupEpochs) {
      return this.lr * (0.1 + 0.9 * epoch / this.warmupEpochs);
    }
    const span = Math.max(1, this.totalEpochs - this.warmupEpochs);
    const t = Math.min(1, (epoch - this.warmupEpochs) / span);
    const min = this.lr * this.minRatio;
    return min + (this.lr - min) * 0.5 * (1 + Math.cos(Math.PI * t));
  }
}

/**
 * Multiply the rate by `factor` when the monitored loss has not improved (by more than
 * `threshold`, relative) for more than `patience` epochs; never below `minLr`.
 */
export class ReduceOnPlateauLr implements LrScheduler {
  #lr: number;
  #best = Infinity;
  #bad = 0;
  #lastEpoch = -1;

  /** Upstream defaults: factor 0.5, patience 2, minLr 5e-5, threshold 0. */
  constructor(
    readonly lr: number,
    readonly factor = 0.5,
    readonly patience = 2,
    readonly minLr = 5e-5,
    readonly threshold = 0,
  ) {
    this.#lr = lr;
  }

  lrForEpoch(epoch: number, lastValLoss?: number): number {
    if (epoch !== this.#lastEpoch && lastValLoss !== undefined && Number.isFinite(lastValLoss)) {
      this.#lastEpoch = epoch;
      if (lastValLoss < this.#best * (1 - this.threshold)) {
        this.#best = lastValLoss;
        this.#bad = 0;
      } else if (++this.#bad > this.patience) {
        // Never raise the rate: a schedule started below minLr stays where it is.
        this.#lr = Math.min(this.#lr, Math.max(this.minLr, this.#lr * this.factor));
        this.#bad = 0;
      }
    }
    return this.#lr;
  }
}
