/**
 * The PyTorch peer (`bench/peer/pytorch_ptychopinn.py`), one fresh process per measurement:
 * each builds its model, warms up (one untimed step) and times its steps, with its thread count
 * fixed (torch.set_num_threads and OMP_NUM_THREADS = the machine's cores), so no measurement
 * inherits another's state (allocator, caches, models of other figures, idle threads).
 *
 * Each answer also carries the cores the peer kept busy while timed (process CPU seconds over
 * wall seconds): about the thread count when it had the machine to itself, less when something
 * else competed for the cores; and the minor page faults per timed step.
 *
 * The peer's throughput processes keep freed memory in glibc's heap (`keep_freed_memory` in the
 * script): with glibc's defaults every activation above 32 MiB is a fresh mmap, so each batch-64
 * inference forward first-touched about 1 GB (about 250 k page faults per batch), which held the
 * peer's inference figure at 26 patterns/s in the harness and at 4–6 under load, against 20–28
 * with the memory reused at load 8–10. The smokes run the peer's plain commands.
 */

/** The interpreter the bench may run (deno.json grants --allow-run for it). */
export const PYTHON = "/usr/bin/python3";

/** Absolute path of the peer script. */
export const PEER_SCRIPT = new URL("./peer/pytorch_ptychopinn.py", import.meta.url).pathname;

/** A figure as the peer reports it: median, range and every value, in `unit`. */
export interface PeerFigure {
  /** Median over the repeats. */
  median: number;
  /** Smallest value. */
  min: number;
  /** Largest value. */
  max: number;
  /** Every value, in order. */
  values: number[];
  /** "groups/s", "patterns/s" or "s". */
  unit: string;
  /** Cores busy (CPU s / wall s) during each timed repeat. */
  cores_busy?: number[];
  /** Minor page faults per timed step in each repeat (near 0 when memory is reused). */
  page_faults_per_step?: number[];
  /** Anything else the peer reports (shape, steps, parameter count …). */
  [detail: string]: unknown;
}

/** What one peer process answered: its environment and the named result. */
export interface PeerAnswer {
  /** torch, numpy and python versions, threads, load. */
  environment: Record<string, unknown>;
  /** The measurement (a {@link PeerFigure}, or the golden check's record). */
  result: Record<string, unknown>;
}

/** Why the peer cannot run here, or null when it can. */
export function peerUnavailable(): string | null {
  try {
    Deno.statSync(PYTHON);
    return null;
  } catch {
    return `${PYTHON} not found`;
  }
}

/**
 * One named figure (see the script's --measure) in a fresh peer process: `repeats` timed blocks
 * of `steps` steps after one warm-up step. Throws with the end of its stderr when it fails.
 */
export async function measurePeer(
  name: string,
  repeats = 1,
  steps?: number,
): Promise<PeerAnswer> {
  const threads = String(navigator.hardwareConcurrency);
  const args = [PEER_SCRIPT, "--measure", name, "--repeats", String(repeats), "--threads", threads];
  if (steps !== undefined) args.push("--steps", String(steps));
  const out = await new Deno.Command(PYTHON, {
    args,
    env: { OMP_NUM_THREADS: threads, MKL_NUM_THREADS: threads },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").pop() ?? "";
    throw new Error(`peer '${name}' exited ${out.code}: ${err || "no output"}`);
  }
  const answer = JSON.parse(new TextDecoder().decode(out.stdout));
  return { environment: answer.environment, result: answer.results[name] };
}

/** The peer's train smoke: 1 epoch of 16 groups, gridsize 2, batch 16, on `data`. */
export function peerTrainArgv(data: string, outDir: string): string[] {
  return [
    PYTHON,
    PEER_SCRIPT,
    "train",
    "--data",
    data,
    "--out",
    outDir,
    "--n-groups",
    "16",
    "--epochs",
    "1",
    "--gridsize",
    "2",
    "--batch-size",
    "16",
  ];
}

/** The peer's inference smoke: the first 16 patterns of `data` with the model in `modelDir`. */
export function peerInferArgv(data: string, modelDir: string, outDir: string): string[] {
  return [
    PYTHON,
    PEER_SCRIPT,
    "infer",
    "--model",
    modelDir,
    "--data",
    data,
    "--out",
    outDir,
    "--n-images",
    "16",
  ];
}
