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
 */
import type { Backend } from "../engine/backend.ts";
import { cpuBackend, setBackend } from "../engine/mod.ts";
import { createWebGpuBackend } from "../engine/webgpu/backend.ts";
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
 * The table: one row per backend, each with the peer's figures of the same rounds (medians over
 * rounds), or null (with a printed note) when the data is absent.
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
  const median = (v: number[]) => v.sort((a, b) => a - b)[Math.floor(v.length / 2)];
  const peerSpi = median(peer.map(secondsPerIteration));
  const peerR = median(peer.map((p) => p.finalR));
  const peerTotal = median(peer.map((p) => p.seconds.reduce((s, v) => s + v, 0)));
  const rows = configs.map(({ backend, batch }, i) => {
    const runs = ours[i];
    const spi = median(runs.map(secondsPerIteration));
    const reach = runs.map((run) => timeToReach(run, peerR));
    const reached = reach.filter((t): t is number => t !== null);
    return [
      backend.name,
      String(batch),
      fmt(spi),
      fmt(peerSpi),
      fmt(spi / peerSpi, 2),
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
      "ours/peer",
      `ours R after ${iterations}`,
      `peer exact R after ${iterations}`,
      "ours s to peer's R",
      `peer s for ${iterations}`,
    ],
    rows,
  };
}

function flag(name: string, fallback: number): number {
  const arg = Deno.args.find((a) => a.startsWith(`--${name}=`));
  return arg === undefined ? fallback : Number(arg.slice(name.length + 3));
}

if (import.meta.main) {
  const gpu = Deno.args.includes("--cpu-only") ? null : await createWebGpuBackend();
  const backends = gpu ? [cpuBackend(), gpu] : [cpuBackend()];
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
