/**
 * Our side of the figures the peer also measures: training groups/s of the full model (N=64,
 * n_filters_scale 2, batch 16, gridsize 2 and 1), inference patterns/s (generator only, batch
 * 64, gridsize 1), and the wall time and peak RSS of the `deno task train` / `deno task infer`
 * smokes run as separate processes (process start → exit).
 */
import type { Backend } from "../engine/backend.ts";
import { noGrad, Rng, setBackend, type Tensor, tensor, tidy } from "../engine/mod.ts";
import { Generator, initialParameters, type NetworkConfig } from "../model/network.ts";
import { benchTrainingSteps, type TrainBenchResult } from "./train_setup.ts";

/** GNU time: exact peak RSS (%M) of a child; used when present. */
export const GNU_TIME = "/usr/bin/time";

/** The repository root (where deno.json lives). */
export const REPO_ROOT = new URL("..", import.meta.url).pathname;

/** The dataset both sides' smokes read: 144 simulated patterns, N=64 (fixtures/README.md). */
export const SMOKE_DATA = new URL("../fixtures/sim_lines_n64.npz", import.meta.url).pathname;

/** Groups per training batch and patterns per inference batch (the figures). */
export const TRAIN_BATCH = 16;
/** Patterns per inference batch. */
export const INFER_BATCH = 64;

/** The full-size network of docs/physics.md#network at N=64. */
function fullSize(gridsize: number): NetworkConfig {
  return { n: 64, gridsize, nFiltersScale: 2 };
}

/** Bytes the backend holds: live plus pooled (free buffers waiting for reuse). */
export function heldBytes(backend: Backend): number {
  const m = backend.memory();
  return m.liveBytes + m.pooledBytes;
}

/**
 * Training on `backend` (groups/s, host ms and dispatches per step): `steps` timed steps of batch
 * `batch` (16) on random inputs of the real shapes, after `warmUp` untimed steps (`true`: one,
 * for the pipelines and the buffer pool).
 */
export async function oursTrainRate(
  backend: Backend,
  gridsize: number,
  warmUp: boolean | number,
  steps = 1,
  batch = TRAIN_BATCH,
): Promise<TrainBenchResult> {
  setBackend(backend);
  return await benchTrainingSteps({
    config: fullSize(gridsize),
    batchSize: batch,
    warmupSteps: typeof warmUp === "number" ? warmUp : warmUp ? 1 : 0,
    steps,
  });
}

/** Inference throughput: the generator alone on a batch of 64 gridsize-1 patterns. */
export class InferenceBench {
  readonly #generator: Generator;
  readonly #x: Tensor;
  #warm = false;

  /** Builds the generator (seeded Glorot weights) and one random batch on `backend`. */
  constructor(readonly backend: Backend) {
    setBackend(backend);
    const cfg = fullSize(1);
    const rng = new Rng(7);
    this.#generator = new Generator(cfg, initialParameters(cfg, rng));
    const n = cfg.n;
    const values = Float32Array.from({ length: INFER_BATCH * n * n }, () => rng.uniform());
    this.#x = tensor(values, [INFER_BATCH, 1, n, n]);
  }

  /** Patterns/s of `steps` forward passes, each read back to the host (warmed up on first call). */
  async rate(steps = 1): Promise<number> {
    setBackend(this.backend);
    if (!this.#warm) {
      await this.#forward();
      this.#warm = true;
    }
    const t0 = performance.now();
    for (let k = 0; k < steps; k++) await this.#forward();
    return steps * INFER_BATCH / ((performance.now() - t0) / 1000);
  }

  async #forward(): Promise<void> {
    const y = tidy(() => noGrad(() => this.#generator.forward(this.#x)));
    await y.data();
    y.dispose();
  }

  /** Releases the weights and the batch. */
  dispose(): void {
    setBackend(this.backend);
    this.#generator.dispose();
    this.#x.dispose();
  }
}

/** Wall time and peak resident memory of one child process. */
export interface ProcessStats {
  /** Seconds from spawn to exit. */
  wallSeconds: number;
  /**
   * Peak RSS in bytes: GNU time's %M, else the last VmHWM polled from /proc (Deno allows that
   * only under --allow-all); null when neither could be read.
   */
  peakRssBytes: number | null;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Whether this process may spawn `command` directly. */
function mayRun(command: string): boolean {
  return Deno.permissions.querySync({ name: "run", command }).state === "granted";
}

/** VmHWM (peak RSS) of a live process in bytes; 0 once it has gone or when /proc is closed. */
function vmHwmBytes(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0; // gone, or Deno refused /proc (it needs --allow-all)
  }
}

/** Why {@link runMeasured} cannot run `argv` here, or null when it can. */
export function cannotMeasure(argv: string[]): string | null {
  if (exists(GNU_TIME) && mayRun(GNU_TIME)) return null;
  if (mayRun(argv[0])) return null;
  return `needs ${GNU_TIME} (or --allow-run for ${argv[0]})`;
}

/**
 * Runs `argv` in `cwd`, through GNU time when available (exact peak RSS; also lets the bench
 * start `deno` without a run permission for the deno binary itself), else directly while
 * polling /proc/<pid>/status every 10 ms. Throws with the end of stderr on a non-zero exit.
 */
export async function runMeasured(argv: string[], cwd = REPO_ROOT): Promise<ProcessStats> {
  const viaTime = exists(GNU_TIME) && mayRun(GNU_TIME);
  const rssFile = viaTime ? await Deno.makeTempFile({ suffix: ".rss" }) : "";
  const full = viaTime ? [GNU_TIME, "-f", "%M", "-o", rssFile, ...argv] : argv;
  const t0 = performance.now();
  const child = new Deno.Command(full[0], {
    args: full.slice(1),
    cwd,
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let peak = 0;
  const poll = viaTime ? undefined : setInterval(() => {
    peak = Math.max(peak, vmHwmBytes(child.pid));
  }, 10);
  const [status, stderr] = await Promise.all([child.status, new Response(child.stderr).text()]);
  const wallSeconds = (performance.now() - t0) / 1000;
  clearInterval(poll);
  if (viaTime) {
    const text = Deno.readTextFileSync(rssFile).trim();
    Deno.removeSync(rssFile);
    peak = Number(text.split(/\s+/).pop()) * 1024;
  }
  if (!status.success) {
    const tail = stderr.trim().split("\n").slice(-3).join(" | ");
    throw new Error(`${argv.slice(0, 4).join(" ")} … exited ${status.code}: ${tail}`);
  }
  return { wallSeconds, peakRssBytes: peak > 0 ? peak : null };
}

/** `deno task train`: 1 epoch of 16 groups, gridsize 2, batch 16, n_filters_scale 2, on `accelerator`. */
export function oursTrainArgv(accelerator: string, data: string, outDir: string): string[] {
  return [
    Deno.execPath(),
    "task",
    "--quiet",
    "train",
    "--train_data_file",
    data,
    "--output_dir",
    outDir,
    "--n_images",
    "16",
    "--max_epochs",
    "1",
    "--gridsize",
    "2",
    "--batch_size",
    "16",
    // The peer trains upstream's full network; ours defaults to half its width.
    "--n_filters_scale",
    "2",
    "--accelerator",
    accelerator,
    "--quiet",
  ];
}

/** `deno task infer`: the first 16 patterns of `data` with the model trained in `modelDir`. */
export function oursInferArgv(
  accelerator: string,
  data: string,
  modelDir: string,
  outDir: string,
): string[] {
  return [
    Deno.execPath(),
    "task",
    "--quiet",
    "infer",
    "--model_path",
    modelDir,
    "--test_data",
    data,
    "--output_dir",
    outDir,
    "--n_images",
    "16",
    "--accelerator",
    accelerator,
    "--quiet",
  ];
}
