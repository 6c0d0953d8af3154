/**
 * `refine` against the plain NumPy ePIE peer (bench/peer/epie_numpy.py) on the Siemens star
 * (../shared/data/siemens_star_64.npz, 516 positions, N = 64, read in place, with `probeGuess`
 * held fixed, flat start, amplitude loss): seconds per iteration on each backend and the peer's
 * (each peer run a fresh python process), and the time ours needs to reach the R-factor the
 * peer ends with after the same number of iterations (its exact `fourier_error_final`; ours is
 * the R measured during each pass, which lags the exact one, so the time is an upper bound).
 * Ours and the peer alternate (ours on each backend, then the peer, per round) so that both see
 * the same load on these shared machines.
 *
 *   deno run -A bench/refine.ts [--iterations=30] [--rounds=2] [--batch=64,516] [--cpu-only]
 *   deno run -A bench/refine.ts --profile [--batch=64] [--probe] [--cpu-only]   (one iteration, per kernel;
 *     --probe: with the probe refined)
 */
import type { Backend } from "../engine/backend.ts";
import { cpuBackend, setBackend } from "../engine/mod.ts";
import { createWebGpuBackend, WebGpuBackend } from "../engine/webgpu/backend.ts";
import { complexToFloat32, realToFloat32, realToFloat64 } from "../io/npy_convert.ts";
import { NpzReader } from "../io/npz.ts";
import { canvasLayout } from "../model/refine/geometry.ts";
import { flatObject } from "../model/refine/init.ts";
import { Refiner } from "../model/refine/refiner.ts";
import { PYTHON } from "./peer_runner.ts";
import type { SectionTable } from "./report.ts";

/** The Siemens star scan, read in place. */
export const SIEMENS_STAR = new URL("../../shared/data/siemens_star_64.npz", import.meta.url)
  .pathname;

const PEER = new URL("./peer/epie_numpy.py", import.meta.url).pathname;

/** One run: seconds and R-factor of every iteration. */
export interface RefineRun {
  /** Seconds of each iteration. */
  seconds: number[];
  /** R-factor of each iteration (during the pass). */
  rFactors: number[];
  /** The peer's exact R-factor of its final state (ours: the last pass's). */
  finalR: number;
}

interface Star {
  n: number;
  amplitude: Float32Array;
  probe: Float32Array;
  xcoords: Float64Array;
  ycoords: Float64Array;
}

function loadStar(path: string): Star {
  const npz = NpzReader.open(path);
  try {
    return {
      n: npz.get("diffraction").shape[1],
      amplitude: realToFloat32(npz.get("diffraction")),
      probe: complexToFloat32(npz.get("probeGuess")),
      xcoords: realToFloat64(npz.get("xcoords")),
      ycoords: realToFloat64(npz.get("ycoords")),
    };
  } finally {
    npz.close();
  }
}

/** Our refine on `backend`: `iterations` passes with the probe and positions fixed. */
export async function runOurs(
  backend: Backend,
  star: Star,
  iterations: number,
  batchSize: number,
): Promise<RefineRun> {
  setBackend(backend);
  const layout = canvasLayout(star.xcoords, star.ycoords, star.n);
  const refiner = new Refiner(
    { n: star.n, amplitude: star.amplitude, xcoords: star.xcoords, ycoords: star.ycoords },
    { layout, object: flatObject(layout), probe: star.probe },
    { batchSize, loss: "amplitude", refineProbe: false, refinePositions: false, seed: 1 },
  );
  const run: RefineRun = { seconds: [], rFactors: [], finalR: NaN };
  try {
    for (let i = 0; i < iterations; i++) {
      const r = await refiner.step();
      run.seconds.push(r.seconds);
      run.rFactors.push(r.rFactor);
    }
  } finally {
    refiner.dispose();
  }
  run.finalR = run.rFactors[run.rFactors.length - 1];
  return run;
}

/** The NumPy ePIE peer in a fresh process: `iterations` passes with `probeGuess` fixed. */
export async function runPeer(path: string, iterations: number): Promise<RefineRun> {
  const json = await Deno.makeTempFile({ prefix: "epie-", suffix: ".json" });
  try {
    const args = [PEER, "--data", path, "--iterations", String(iterations), "--json", json];
    const out = await new Deno.Command(PYTHON, { args, stdout: "null", stderr: "piped" }).output();
    if (!out.success) {
      throw new Error(`epie_numpy.py failed: ${new TextDecoder().decode(out.stderr).trim()}`);
    }
    const rec = JSON.parse(await Deno.readTextFile(json));
    return {
      seconds: rec.iteration_seconds,
      rFactors: rec.fourier_error,
      finalR: rec.fourier_error_final,
    };
  } finally {
    await Deno.remove(json);
  }
}

/** Median of the iterations after the first (which compiles kernels and warms caches). */
export function secondsPerIteration(run: RefineRun): number {
  const s = run.seconds.slice(run.seconds.length > 1 ? 1 : 0).sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Seconds (all iterations summed) until an iteration's R-factor is ≤ `target`; null if never. */
export function timeToReach(run: RefineRun, target: number): number | null {
  let total = 0;
  for (let i = 0; i < run.seconds.length; i++) {
    total += run.seconds[i];
    if (run.rFactors[i] <= target) return total;
  }
  return null;
}

/** Options of {@link benchRefine}. */
export interface RefineBenchOptions {
  /** Iterations per run (default 30). */
  iterations?: number;
  /** Interleaved rounds (default 2). */
  rounds?: number;
  /**
   * Positions per update, one row each (default 64, the command's default, and 516: one update
   * per iteration, where the R-factor measured during the pass is exact).
   */
  batchSizes?: number[];
  /** Where the Siemens star lies (default {@link SIEMENS_STAR}). */
  data?: string;
  /** Called after each run (progress). */
  onRun?: (who: string, run: RefineRun) => void;
}

const fmt = (v: number, d = 3) => v.toFixed(d);

/**
 * The table: one row per backend and batch size, each beside the peer's figures of the same
 * rounds (medians over rounds; the s/it ratio per round, then its median), or null (with a
 * printed note) when the data is absent.
 */
export async function benchRefine(
  backends: Backend[],
  opts: RefineBenchOptions = {},
): Promise<SectionTable | null> {
  const data = opts.data ?? SIEMENS_STAR;
  const iterations = opts.iterations ?? 30, rounds = opts.rounds ?? 2;
  const batchSizes = opts.batchSizes ?? [64, 516];
  try {
    Deno.statSync(data);
  } catch {
    console.log(`refine bench skipped: ${data} is absent (the shared data folder)\n`);
    return null;
  }
  const star = loadStar(data);
  const configs = backends.flatMap((backend) => batchSizes.map((batch) => ({ backend, batch })));
  const ours = configs.map(() => [] as RefineRun[]);
  const peer: RefineRun[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const [i, { backend, batch }] of configs.entries()) {
      const run = await runOurs(backend, star, iterations, batch);
      ours[i].push(run);
      opts.onRun?.(`${backend.name} batch ${batch}`, run);
    }
    const run = await runPeer(data, iterations);
    peer.push(run);
    opts.onRun?.("peer", run);
  }
  const median = (v: number[]) => {
    const s = [...v].sort((a, b) => a - b), h = s.length >> 1;
    return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
  };
  const peerSpi = median(peer.map(secondsPerIteration));
  const peerR = median(peer.map((p) => p.finalR));
  const peerTotal = median(peer.map((p) => p.seconds.reduce((s, v) => s + v, 0)));
  const rows = configs.map(({ backend, batch }, i) => {
    const runs = ours[i];
    const spi = median(runs.map(secondsPerIteration));
    // Each round's ratio against the peer run beside it (same load), then the median.
    const ratio = median(
      runs.map((run, r) => secondsPerIteration(run) / secondsPerIteration(peer[r])),
    );
    const reach = runs.map((run) => timeToReach(run, peerR));
    const reached = reach.filter((t): t is number => t !== null);
    return [
      backend.name,
      String(batch),
      fmt(spi),
      fmt(peerSpi),
      fmt(ratio, 2),
      median(runs.map((run) => run.finalR)).toExponential(3),
      peerR.toExponential(3),
      reached.length === reach.length ? fmt(median(reached), 1) : "not reached",
      fmt(peerTotal, 1),
    ];
  });
  return {
    title: `Refine on the Siemens star (516 positions, N=64, probeGuess fixed, ${iterations} ` +
      `iterations, ${rounds} interleaved rounds, load ${Deno.loadavg()[0].toFixed(1)})`,
    columns: [
      "backend",
      "batch",
      "ours s/it",
      "NumPy ePIE s/it",
      "ours/peer (per round)",
      `ours R after ${iterations}`,
      `peer exact R after ${iterations}`,
      "ours s to peer's R",
      `peer s for ${iterations}`,
    ],
    rows,
  };
}

/**
 * Where one iteration's time goes on `backend` (after two warm-up iterations): per kernel, device
 * milliseconds and dispatch counts on WebGPU (timestamp queries, one pass per dispatch), wall
 * milliseconds and calls per backend method on the CPU; and the readbacks of the iteration. With
 * `refineProbe` the probe is refined from the first iteration (refine's default from its sixth).
 */
export async function profileIteration(
  backend: Backend,
  star: Star,
  batchSize: number,
  refineProbe = false,
): Promise<string[]> {
  const stats = new Map<string, { ms: number; count: number }>();
  let reads = 0;
  const target = backend as unknown as Record<string, unknown>;
  const gpu = backend instanceof WebGpuBackend ? backend : null;
  // The CPU's kernels run synchronously: time each call through a proxy.
  const timed = gpu ?? new Proxy(target, {
    get(t, key) {
      const v = t[key as string];
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => {
        const start = performance.now();
        const out = (v as (...a: unknown[]) => unknown).apply(t, args);
        const op = key === "unary" ? args[1] : key === "binary" ? args[5] : null;
        const label = op === null ? String(key) : `${String(key)}/${op}`;
        const e = stats.get(label) ?? { ms: 0, count: 0 };
        e.ms += performance.now() - start;
        e.count++;
        stats.set(label, e);
        return out;
      };
    },
  }) as unknown as Backend;
  const read = backend.read.bind(backend);
  setBackend(timed);
  const layout = canvasLayout(star.xcoords, star.ycoords, star.n);
  const refiner = new Refiner(
    { n: star.n, amplitude: star.amplitude, xcoords: star.xcoords, ycoords: star.ycoords },
    { layout, object: flatObject(layout), probe: star.probe },
    { batchSize, loss: "amplitude", refineProbe, probeStart: 0, refinePositions: false, seed: 1 },
  );
  try {
    for (let i = 0; i < 2; i++) await refiner.step();
    stats.clear();
    target.read = (st: unknown) => (reads++, read(st as never));
    gpu?.rt.startProfile(2000, false);
    const r = await refiner.step();
    for (const [label, v] of (await gpu?.rt.stopProfile()) ?? []) stats.set(label, v);
    delete target.read;
    const rows = [...stats].sort((a, b) => b[1].ms - a[1].ms);
    const ms = rows.reduce((t, [, v]) => t + v.ms, 0);
    const calls = rows.reduce((t, [, v]) => t + v.count, 0);
    const what = gpu ? "device ms in dispatches" : "ms in backend calls";
    return [
      `${backend.name}, batch ${batchSize}: ${r.seconds.toFixed(3)} s wall, ${ms.toFixed(1)} ` +
      `${what}: ${calls}, readbacks: ${reads}`,
      ...rows.map(([l, v]) =>
        `${v.ms.toFixed(1).padStart(9)} ms ${String(v.count).padStart(5)}×  ${l}`
      ),
    ];
  } finally {
    refiner.dispose();
  }
}

function flag(name: string, fallback: number): number {
  const arg = Deno.args.find((a) => a.startsWith(`--${name}=`));
  return arg === undefined ? fallback : Number(arg.slice(name.length + 3));
}

if (import.meta.main) {
  const gpu = Deno.args.includes("--cpu-only") ? null : await createWebGpuBackend();
  const backends = gpu ? [cpuBackend(), gpu] : [cpuBackend()];
  if (Deno.args.includes("--profile")) {
    const batch = flag("batch", 64);
    for (const b of backends) {
      const probe = Deno.args.includes("--probe");
      console.log((await profileIteration(b, loadStar(SIEMENS_STAR), batch, probe)).join("\n"));
    }
    Deno.exit(0);
  }
  const table = await benchRefine(backends, {
    iterations: flag("iterations", 30),
    rounds: flag("rounds", 2),
    batchSizes: Deno.args.find((a) => a.startsWith("--batch="))?.slice(8).split(",").map(Number),
    onRun: (who, run) =>
      console.log(
        `${who}: ${fmt(secondsPerIteration(run))} s/it, R ${run.finalR.toExponential(3)}`,
      ),
  });
  if (table !== null) {
    const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
    console.log(`## ${table.title}\n`);
    console.log(
      [line(table.columns), line(table.columns.map(() => "---")), ...table.rows.map(line)].join(
        "\n",
      ),
    );
  }
  Deno.exit(0);
}
