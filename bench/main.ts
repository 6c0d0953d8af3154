/**
 * `deno task bench`: runs each benchmark section on each available backend and prints one
 * Markdown table per section. Add a backend to `backends()` or a section to `SECTIONS`.
 * Then ours against the PyTorch peer (bench/compare.ts), and the run's JSON record in
 * bench/results/ (a `--quick` run's in a git-ignored `-quick.json`, never over the day's full
 * record). Flags: `--quick` (the one-minute subset: one training-step pair against the peer on
 * the last backend, no sections, and one refine round against the NumPy ePIE peer on the Siemens
 * star), `--reps=N` (peer-comparison repetitions, default 5).
 */

import type { Backend } from "../engine/backend.ts";
import { cpuBackend } from "../engine/cpu/backend.ts";
import { createWebGpuBackend } from "../engine/webgpu/backend.ts";
import {
  compareWithPeer,
  COMPARISON_COLUMNS,
  COMPARISON_NOTE,
  comparisonRows,
  goldenLine,
} from "./compare.ts";
import { benchInference } from "./infer.ts";
import { benchKernels, timeKernel } from "./kernels.ts";
import { benchRefine } from "./refine.ts";
import { type SectionTable, writeResults } from "./report.ts";

/** A benchmark section: a title, table columns, and a function producing rows for a backend. */
export interface BenchSection {
  /** Heading printed above the table. */
  title: string;
  /** Column headings. */
  columns: string[];
  /** Measure on `backend` and return the table rows (one cell per column). */
  rows(backend: Backend): Promise<string[][]>;
}

/** The sections run by `deno task bench`, in order. */
export const SECTIONS: BenchSection[] = [
  {
    title: "Kernel throughput",
    columns: [
      "backend",
      "kernel",
      "shape",
      "median ms (wall, with readback)",
      "GFLOP/s",
      "median ms (device, timestamps)",
      "GFLOP/s (device)",
    ],
    rows: async (backend) =>
      (await benchKernels(backend)).map((r) => [
        backend.name,
        r.name,
        r.shape,
        r.medianMs.toFixed(1),
        r.gflops.toFixed(2),
        r.deviceMs === null ? "–" : r.deviceMs.toFixed(1),
        r.deviceMs === null ? "–" : (r.flops / (r.deviceMs * 1e6)).toFixed(2),
      ]),
  },
  {
    title: "Batched fft2: 64 images 64×64 complex, forward",
    columns: ["backend", "median ms (wall, with readback)", "median ms (device, timestamps)"],
    rows: async (backend) => [[backend.name, ...(await benchFft2(backend))]],
  },
  {
    title: "Inference at N=64 (gridsize 2, n_filters_scale 2, fixtures/sim_lines_n64.npz)",
    columns: [
      "backend",
      "patterns",
      "predict patterns/s",
      "predict + stitch patterns/s",
      "seed infer command, 16 patterns (s, in-process)",
    ],
    rows: async (backend) => {
      const r = await benchInference(backend);
      return [[
        backend.name,
        String(r.patterns),
        r.predictRate.toFixed(2),
        r.totalRate.toFixed(2),
        r.seedCommandSeconds.toFixed(1),
      ]];
    },
  },
];

/** Median wall ms (each call read back) and, on WebGPU, median device ms of a batched fft2. */
async function benchFft2(backend: Backend): Promise<string[]> {
  const [batch, h, w, runs] = [64, 64, 64, 5];
  const x = backend.upload(new Float32Array(batch * h * w * 2).map((_, i) => Math.sin(i)));
  const t = await timeKernel(backend, () => backend.fft2(x, batch, h, w, false, 1), runs);
  backend.release(x);
  return [t.wall.toFixed(1), t.device === null ? "–" : t.device.toFixed(1)];
}

/** The backends to measure: CPU, and WebGPU when an adapter exists. */
async function backends(): Promise<Backend[]> {
  const gpu = await createWebGpuBackend();
  if (!gpu) console.log("no WebGPU adapter: only the CPU backend is measured\n");
  return gpu ? [cpuBackend(), gpu] : [cpuBackend()];
}

/** A Markdown table. */
export function markdownTable(columns: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(columns), line(columns.map(() => "---")), ...rows.map(line)].join("\n");
}

if (import.meta.main) {
  const quick = Deno.args.includes("--quick");
  const repsFlag = Deno.args.find((a) => a.startsWith("--reps="));
  const reps = repsFlag ? Number(repsFlag.slice("--reps=".length)) : undefined;
  const measured = await backends();
  const tables: SectionTable[] = [];
  for (const section of quick ? [] : SECTIONS) {
    const rows: string[][] = [];
    for (const backend of measured) rows.push(...(await section.rows(backend)));
    console.log(`## ${section.title}\n\n${markdownTable(section.columns, rows)}\n`);
    tables.push({ title: section.title, columns: section.columns, rows });
  }
  // Refine against the NumPy ePIE peer, interleaved (--quick: last backend, full batch, one round).
  const refine = await benchRefine(
    quick ? measured.slice(-1) : measured,
    quick ? { rounds: 1, batchSizes: [516] } : {},
  );
  if (refine !== null) {
    console.log(`## ${refine.title}\n\n${markdownTable(refine.columns, refine.rows)}\n`);
    tables.push(refine);
  }
  const comparison = await compareWithPeer({ backends: measured, quick, reps });
  const table = markdownTable(COMPARISON_COLUMNS, comparisonRows(comparison.figures));
  console.log(`## Ours against the PyTorch peer (interleaved pairs)\n\n${table}\n`);
  console.log(`${COMPARISON_NOTE}\n${goldenLine(comparison.peerGolden)}\n`);
  console.log(`results: ${writeResults(measured, tables, comparison, { quick, reps })}`);
}
