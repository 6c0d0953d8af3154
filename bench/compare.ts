/**
 * Ours against the PyTorch peer, figure by figure and backend by backend, interleaved
 * (ours, peer, ours, peer …) so that machine drift hits both sides alike; medians and min–max
 * over the repetitions and the ratio ours/peer pair by pair. Also peak RSS of the smokes and the
 * bytes the WebGPU pool held. Writes bench/results/<date>-<host>.json and prints Markdown.
 */
import type { Backend } from "../engine/backend.ts";
import type { WebGpuBackend } from "../engine/webgpu/backend.ts";
import {
  cannotMeasure,
  heldBytes,
  InferenceBench,
  oursInferArgv,
  oursTrainArgv,
  oursTrainRate,
  runMeasured,
  SMOKE_DATA,
} from "./end_to_end.ts";
import {
  measurePeer,
  type PeerFigure,
  peerInferArgv,
  peerTrainArgv,
  peerUnavailable,
} from "./peer_runner.ts";

/** Median, range and every value of one side of a figure. */
export interface Stats {
  /** Median of `values`. */
  median: number;
  /** Smallest value. */
  min: number;
  /** Largest value. */
  max: number;
  /** Every repetition, in order. */
  values: number[];
}

/** One figure on one backend. */
export interface FigureResult {
  /** Figure id: train_gs2, train_gs1, infer, smoke_train, smoke_infer. */
  figure: string;
  /** What it measures, in words. */
  label: string;
  /** Our backend ("cpu", "webgpu"); the peer is PyTorch on the CPU. */
  backend: string;
  /** groups/s, patterns/s or s. */
  unit: string;
  /** Our values, or null with `oursNote`. */
  ours: Stats | null;
  /** Why ours is missing. */
  oursNote?: string;
  /** The peer's values, or null with `peerNote`. */
  peer: Stats | null;
  /** Why the peer is missing. */
  peerNote?: string;
  /** ours/peer for each interleaved pair (>1 is faster for rates, slower for seconds). */
  ratio: Stats | null;
  /** Peak RSS in bytes over the repetitions (smokes only). */
  peakRssBytes?: { ours: number | null; peer: number | null };
  /**
   * WebGPU only: bytes the buffer pool held (live + pooled) before and after the figure. The pool
   * keeps the buffers a step reuses and destroys those unused across two readbacks, so `after`
   * is about the figure's own working set.
   */
  gpuPoolBytes?: { before: number; after: number };
  /**
   * Cores the peer kept busy (CPU s / wall s) in each timed repetition: near its thread count
   * when it had the cores to itself; lower values flag a repetition something else slowed.
   */
  peerCoresBusy?: number[];
  /**
   * Minor page faults per timed step of the peer in each repetition: near 0 when it reuses its
   * memory; hundreds of thousands flag the first-touch cost that once held its inference figure
   * at 26 patterns/s (bench/peer_runner.ts).
   */
  peerPageFaultsPerStep?: number[];
  /**
   * Training figures: our host (JS) milliseconds to record one step (up to its submit, which on
   * lavapipe runs the step), and the dispatches one step records (WebGPU; null elsewhere).
   * WebGPU: see {@link StepHost}; `bufferPath` is the same with the conv operands read from
   * storage buffers, the variant GPU adapters get (engine/webgpu/adapter_table.ts), where this
   * adapter reads them as texels.
   */
  step?: {
    hostMs: Stats;
    dispatches: number | null;
    host?: StepHost;
    bufferPath?: StepHost;
  };
}

/**
 * WebGPU host time per training step in a steady loop, measured at batch 1: it records the same
 * kernels as batch 16 (one dispatch more) with a sixteenth of the device work between steps, so
 * {@link HOST_STEPS} steps after as many warm-up steps take seconds rather than minutes. Single
 * steps vary two- to threefold on the shared cores, hence the median and the fastest.
 */
export interface StepHost {
  /** Median JS milliseconds to record a step. */
  medianMs: number;
  /** The fastest step's. */
  minMs: number;
  /** Median milliseconds of the step's `GPUCommandEncoder.finish` (not in the two above). */
  finishMs: number | null;
}

/** Warm-up and timed steps of the host-time measurement ({@link StepHost}). */
const HOST_STEPS = 20;

/** {@link StepHost} of `backend` for the full model at `gridsize`. */
async function stepHost(backend: Backend, gridsize: number): Promise<StepHost> {
  const t = await oursTrainRate(backend, gridsize, HOST_STEPS, HOST_STEPS, 1);
  return { medianMs: t.hostMsPerStep, minMs: t.hostMsMin, finishMs: t.finishMsPerStep };
}

/**
 * A backend on `gpu`'s device that reads the conv operands from storage buffers, as GPU adapters
 * do; null when `gpu` already does.
 */
function bufferPath(gpu: WebGpuBackend): WebGpuBackend | null {
  return gpu.rt.variants.convTextures ? gpu.withVariants({ convTextures: false }) : null;
}

/** Summary statistics of a non-empty list. */
export function stats(values: number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1], values };
}

/** A step of a figure: measures one repetition `i`, returns the value (and may note RSS). */
type Measure = (i: number) => Promise<number>;

/** Runs ours and the peer alternately `reps` times; a side that throws is dropped with a note. */
async function interleave(
  base: Omit<FigureResult, "ours" | "peer" | "ratio">,
  reps: number,
  ours: Measure | string,
  peer: Measure | string,
): Promise<FigureResult> {
  const o: number[] = [], p: number[] = [];
  let oursNote = typeof ours === "string" ? ours : undefined;
  let peerNote = typeof peer === "string" ? peer : undefined;
  for (let i = 0; i < reps; i++) {
    if (typeof ours !== "string" && oursNote === undefined) {
      try {
        o.push(await ours(i));
      } catch (e) {
        oursNote = `failed: ${e instanceof Error ? e.message : e}`;
      }
    }
    if (typeof peer !== "string" && peerNote === undefined) {
      try {
        p.push(await peer(i));
      } catch (e) {
        peerNote = `failed: ${e instanceof Error ? e.message : e}`;
      }
    }
  }
  const pairs = Math.min(o.length, p.length);
  const ratios = o.slice(0, pairs).map((v, i) => v / p[i]);
  const result: FigureResult = {
    ...base,
    ours: o.length ? stats(o) : null,
    peer: p.length ? stats(p) : null,
    ratio: pairs ? stats(ratios) : null,
  };
  if (oursNote) result.oursNote = oursNote;
  if (peerNote) result.peerNote = peerNote;
  const progress = comparisonRows([result])[0].slice(0, 6).join(" | ");
  console.error(`bench: ${progress}`);
  return result;
}

/** Timed training steps per repetition (ours and the peer's). */
const TRAIN_STEPS = 2;
/** Timed inference batches per repetition (ours and the peer's). */
const INFER_STEPS = 2;

/** What to run. */
export interface CompareOptions {
  /** Our backends (CPU first, then WebGPU when present). */
  backends: Backend[];
  /** The one-minute subset: one train_gs2 pair on the last backend only, no smokes. */
  quick: boolean;
  /** Repetitions per figure (default 5; 1 with quick). */
  reps?: number;
}

/** Everything the comparison measured. */
export interface Comparison {
  /** Figure results in run order. */
  figures: FigureResult[];
  /** The peer's golden check (or why it did not run). */
  peerGolden: Record<string, unknown> | string;
  /** The peer's environment (torch, numpy, python versions, threads), or why it is missing. */
  peerEnvironment: Record<string, unknown> | string;
}

/** Runs every figure on every backend, interleaved with the peer. */
export async function compareWithPeer(opts: CompareOptions): Promise<Comparison> {
  const reps = opts.reps ?? (opts.quick ? 1 : 5);
  const backends = opts.quick ? opts.backends.slice(-1) : opts.backends;
  const unavailable = peerUnavailable();
  const why = unavailable === null ? "" : `peer unavailable: ${unavailable}`;
  const figures: FigureResult[] = [];
  let peerGolden: Comparison["peerGolden"] = why;
  let peerEnvironment: Comparison["peerEnvironment"] = why;
  if (unavailable === null) {
    try {
      const golden = await measurePeer("golden");
      [peerGolden, peerEnvironment] = [golden.result, golden.environment];
    } catch (e) {
      peerGolden = peerEnvironment = `peer failed: ${e instanceof Error ? e.message : e}`;
    }
  }
  const peerOk = typeof peerEnvironment !== "string";
  const busy: number[] = [];
  const faults: number[] = [];
  const peerFigure = (name: string, steps: number): Measure | string =>
    peerOk
      ? async () => {
        const figure = (await measurePeer(name, 1, steps)).result as PeerFigure;
        busy.push(...(figure.cores_busy ?? []));
        faults.push(...(figure.page_faults_per_step ?? []));
        return figure.median;
      }
      : String(peerGolden);
  const withBusy = (r: FigureResult): FigureResult => {
    if (busy.length) r.peerCoresBusy = busy.splice(0);
    if (faults.length) r.peerPageFaultsPerStep = faults.splice(0);
    return r;
  };
  for (const backend of backends) {
    const gpu = backend.name === "webgpu";
    for (const gridsize of opts.quick ? [2] : [2, 1]) {
      const before = heldBytes(backend);
      const base = {
        figure: `train_gs${gridsize}`,
        label: `training, N=64 gridsize ${gridsize} batch 16`,
        backend: backend.name,
        unit: "groups/s",
      };
      // TRAIN_STEPS consecutive steps per repetition on both sides, as a training loop runs
      // them: on a GPU the next step is recorded while the device runs the previous one (Mesa's
      // lavapipe runs each command buffer inside its submit, so there the steps do not overlap).
      const hostMs: number[] = [];
      let dispatches: number | null = null;
      const ours: Measure = async (i) => {
        const t = await oursTrainRate(backend, gridsize, i === 0, TRAIN_STEPS);
        hostMs.push(t.hostMsPerStep);
        dispatches = t.dispatchesPerStep;
        return t.groupsPerSecond;
      };
      const peerTrain = peerFigure(`train_gs${gridsize}`, TRAIN_STEPS);
      const r = withBusy(await interleave(base, reps, ours, peerTrain));
      if (gpu) {
        // The host time of a training loop's steps ({@link StepHost}): each repetition above
        // builds a new model, whose first steps create their bind groups; from about the fourth
        // step the pools hand out the same buffers every step and the groups come from the cache.
        const host = await stepHost(backend, gridsize);
        r.step = { hostMs: stats([host.medianMs]), dispatches, host };
        const buffers = bufferPath(backend as WebGpuBackend);
        if (buffers) {
          r.step.bufferPath = await stepHost(buffers, gridsize);
          buffers.rt.releasePooled();
        }
      } else if (hostMs.length) r.step = { hostMs: stats(hostMs), dispatches };
      if (gpu) r.gpuPoolBytes = { before, after: heldBytes(backend) };
      figures.push(r);
    }
    if (opts.quick) continue;
    const before = heldBytes(backend);
    const infer = new InferenceBench(backend);
    const base = {
      figure: "infer",
      label: "inference, generator only, N=64 gridsize 1 batch 64",
      backend: backend.name,
      unit: "patterns/s",
    };
    const r = withBusy(
      await interleave(base, reps, () => infer.rate(INFER_STEPS), peerFigure("infer", INFER_STEPS)),
    );
    infer.dispose();
    if (gpu) r.gpuPoolBytes = { before, after: heldBytes(backend) };
    figures.push(r);
    figures.push(...await smokes(backend.name, reps, peerOk, String(peerGolden)));
  }
  return { figures, peerGolden, peerEnvironment };
}

/** The train and infer smokes as separate processes, ours and the peer's, interleaved. */
async function smokes(
  accelerator: string,
  reps: number,
  peerOk: boolean,
  why: string,
): Promise<FigureResult[]> {
  const dir = await Deno.makeTempDir({ prefix: "ptycho-bench-" });
  try {
    const rss = { ours: [] as number[], peer: [] as number[] };
    const side = (argv: string[], into: number[]): Measure | string => {
      const cannot = cannotMeasure(argv);
      if (cannot !== null) return cannot;
      return async () => {
        const s = await runMeasured(argv);
        if (s.peakRssBytes !== null) into.push(s.peakRssBytes);
        return s.wallSeconds;
      };
    };
    const ours = oursTrainArgv(accelerator, SMOKE_DATA, `${dir}/ours`);
    const theirs = peerTrainArgv(SMOKE_DATA, `${dir}/peer`);
    const train = await interleave(
      {
        figure: "smoke_train",
        label: "train smoke: process start → 1 epoch of 16 groups (gs 2) → exit",
        backend: accelerator,
        unit: "s",
      },
      reps,
      side(ours, rss.ours),
      peerOk ? side(theirs, rss.peer) : why,
    );
    train.peakRssBytes = peakOf(rss);
    rss.ours = [];
    rss.peer = [];
    const infer = await interleave(
      {
        figure: "smoke_infer",
        label: "inference smoke: process start → 16 patterns predicted and stitched → exit",
        backend: accelerator,
        unit: "s",
      },
      reps,
      train.ours
        ? side(oursInferArgv(accelerator, SMOKE_DATA, `${dir}/ours`, `${dir}/ours_out`), rss.ours)
        : "no model: the train smoke failed",
      peerOk && train.peer
        ? side(peerInferArgv(SMOKE_DATA, `${dir}/peer`, `${dir}/peer_out`), rss.peer)
        : why || "no model: the peer's train smoke failed",
    );
    infer.peakRssBytes = peakOf(rss);
    return [train, infer];
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function peakOf(rss: { ours: number[]; peer: number[] }) {
  const max = (v: number[]) => (v.length ? Math.max(...v) : null);
  return { ours: max(rss.ours), peer: max(rss.peer) };
}

/** Number formatting for the table: 3 significant digits. */
function fmt(v: number): string {
  return v >= 100
    ? v.toFixed(0)
    : v >= 10
    ? v.toFixed(1)
    : v >= 1
    ? v.toFixed(2)
    : v.toPrecision(3);
}

function cell(s: Stats | null, note?: string): string {
  if (s === null) return note ?? "–";
  return s.values.length > 1 ? `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})` : fmt(s.median);
}

const MIB = 2 ** 20;

/** The comparison as Markdown rows (see {@link COMPARISON_COLUMNS}). */
export function comparisonRows(figures: FigureResult[]): string[][] {
  return figures.map((f) => {
    const memory: string[] = [];
    if (f.peakRssBytes) {
      const m = (b: number | null) => (b === null ? "–" : `${(b / MIB).toFixed(0)} MiB`);
      memory.push(`RSS ours ${m(f.peakRssBytes.ours)}, peer ${m(f.peakRssBytes.peer)}`);
    }
    if (f.step) {
      const d = f.step.dispatches === null ? "" : `, ${f.step.dispatches} dispatches`;
      const host = (h: StepHost) =>
        `${fmt(h.medianMs)} (fastest ${fmt(h.minMs)})` +
        (h.finishMs === null ? "" : ` + finish ${fmt(h.finishMs)}`);
      const { host: h, bufferPath: b } = f.step;
      const main = h ? host(h) : fmt(f.step.hostMs.median);
      const alt = b ? `; reading buffers, as GPUs do: ${host(b)} ms` : "";
      memory.push(`step: host ${main} ms${alt}${d}`);
    }
    if (f.gpuPoolBytes) {
      const { before, after } = f.gpuPoolBytes;
      memory.push(
        `GPU pool ${(after / MIB).toFixed(0)} MiB (+${((after - before) / MIB).toFixed(0)})`,
      );
    }
    return [
      f.label,
      f.backend,
      f.unit,
      cell(f.ours, f.oursNote),
      cell(f.peer, f.peerNote),
      cell(f.ratio),
      memory.join("; ") || "–",
    ];
  });
}

/** Columns of {@link comparisonRows}. */
export const COMPARISON_COLUMNS = [
  "figure",
  "ours on",
  "unit",
  "ours: median (min–max)",
  "PyTorch peer (CPU)",
  "ratio ours/peer",
  "peak memory; per step",
];

/** How to read the ratio column. */
export const COMPARISON_NOTE =
  "Ratio ours/peer per interleaved pair: above 1 means ours is faster for groups/s and " +
  "patterns/s, slower for seconds. The peer is PyTorch on all CPU cores. Training figures " +
  "time 2 consecutive steps per repetition on both sides.";

/** One line on the peer's golden check (docs/physics.md#golden-fixtures). */
export function goldenLine(golden: Comparison["peerGolden"]): string {
  if (typeof golden === "string") return `peer golden check: not run (${golden})`;
  const parts = Object.entries(golden).map(([name, r]) => {
    const c = r as Record<string, unknown>;
    if (typeof c.skipped === "string") return `${name} skipped (${c.skipped})`;
    const fwd = Number(c.forward_max_err_rel_to_max).toExponential(1);
    const loss = Number(c.poisson_loss_rel_err).toExponential(1);
    return `${name} ${c.pass ? "pass" : "FAIL"} (forward ${fwd}, loss ${loss})`;
  });
  return `peer golden check: ${parts.join("; ")}`;
}
