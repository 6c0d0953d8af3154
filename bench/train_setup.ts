/**
 * Training-step throughput of the full model on the current backend, for `deno task bench`:
 * random inputs of the real shapes, Adam, every step in one `tidy`, one readback at the end.
 */
import { Adam, backward, getBackend, Rng, tensor, tidy } from "../engine/mod.ts";
import { DEFAULT_EMA_DECAY } from "../model/train/loop.ts";
import { WebGpuBackend } from "../engine/webgpu/backend.ts";
import { initialParameters } from "../model/network.ts";
import { initialIntensityScale } from "../model/normalize.ts";
import { LOG_SCALE, type PinnConfig, PtychoPinn } from "../model/pinn.ts";

/** What to measure. */
export interface TrainBenchOptions {
  /**
   * Network shape and model options (full size of docs/physics.md#network: N 64, gridsize 2,
   * nFiltersScale 2).
   */
  config: PinnConfig;
  /** Groups per batch. */
  batchSize: number;
  /** Untimed steps first (pipeline compilation, buffer pool warm-up). */
  warmupSteps: number;
  /** Timed steps. */
  steps: number;
  /** Called after every step (tests use it to watch memory). */
  afterStep?: () => void;
}

/** Measured throughput. */
export interface TrainBenchResult {
  /** Wall seconds per training step. */
  secondsPerStep: number;
  /** Groups per second (batch × steps / seconds). */
  groupsPerSecond: number;
  /** Loss after the last step (a sanity check that the step ran). */
  loss: number;
  /**
   * Median JS milliseconds to record one timed step (forward, backward, Adam), up to its submit:
   * the host's share. The submit is left out: Mesa's lavapipe runs the command buffer inside
   * `queue.submit` on the calling thread (measured: the submit takes the step's device time),
   * a wait for the device that a real GPU does not impose.
   */
  hostMsPerStep: number;
  /** The fastest timed step's host milliseconds (as {@link hostMsPerStep}). */
  hostMsMin: number;
  /**
   * WebGPU: median milliseconds of `GPUCommandEncoder.finish` per timed step (host time of the
   * submit before the device starts; not in {@link hostMsPerStep}); null on other backends.
   */
  finishMsPerStep: number | null;
  /** WebGPU: compute dispatches one timed step records; null on other backends. */
  dispatchesPerStep: number | null;
}

/** Runs `warmupSteps + steps` training steps on random data and times the last `steps`. */
export async function benchTrainingSteps(opts: TrainBenchOptions): Promise<TrainBenchResult> {
  const { config: cfg, batchSize: b } = opts;
  const rng = new Rng(7);
  const c = cfg.gridsize * cfg.gridsize, n = cfg.n;
  const values = initialParameters(cfg, rng);
  const s0 = initialIntensityScale(1e9, n);
  values.set(LOG_SCALE, Float32Array.of(Math.log(s0)));
  const probe = Float32Array.from({ length: 2 * n * n }, () => rng.uniform());
  const model = new PtychoPinn(cfg, values, probe, s0);
  const x = tensor(Float32Array.from({ length: b * c * n * n }, () => rng.uniform()), [b, c, n, n]);
  const offsets = tensor(
    Float32Array.from({ length: b * c * 2 }, () => 4 * rng.uniform() - 2),
    [b, c, 2],
  );
  // With the weights' moving average, as `deno task train` keeps by default.
  const optimizer = new Adam([...model.parameters().values()], {
    lr: 1e-4,
    emaDecay: DEFAULT_EMA_DECAY,
  });
  const gpu = getBackend() instanceof WebGpuBackend ? getBackend() as WebGpuBackend : null;
  const hostMs: number[] = [];
  const finishMs: number[] = [];
  let dispatches = 0;
  const step = () => {
    const started = performance.now();
    const recorded = gpu?.rt.dispatchCount ?? 0;
    const loss = tidy(() => {
      const { loss, reported } = model.loss({ x, offsets }, "poisson");
      backward(loss);
      return reported;
    });
    optimizer.step();
    optimizer.zeroGrad();
    hostMs.push(performance.now() - started);
    const finished = gpu?.rt.finishMs ?? 0;
    getBackend().flush();
    finishMs.push((gpu?.rt.finishMs ?? 0) - finished);
    dispatches = (gpu?.rt.dispatchCount ?? 0) - recorded;
    opts.afterStep?.();
    return loss;
  };
  for (let i = 0; i < opts.warmupSteps; i++) step().dispose();
  if (opts.warmupSteps > 0) await model.logScale.data();
  hostMs.length = 0;
  finishMs.length = 0;
  const t0 = performance.now();
  let last = step();
  for (let i = 1; i < opts.steps; i++) {
    last.dispose();
    last = step();
  }
  const loss = (await last.data())[0];
  const seconds = (performance.now() - t0) / 1000;
  last.dispose();
  for (const [, t] of optimizer.state()) t.dispose();
  x.dispose();
  offsets.dispose();
  model.dispose();
  return {
    secondsPerStep: seconds / opts.steps,
    groupsPerSecond: (b * opts.steps) / seconds,
    loss,
    hostMsPerStep: hostMs.sort((p, q) => p - q)[hostMs.length >> 1],
    hostMsMin: hostMs[0],
    finishMsPerStep: gpu ? finishMs.sort((p, q) => p - q)[finishMs.length >> 1] : null,
    dispatchesPerStep: gpu ? dispatches : null,
  };
}
