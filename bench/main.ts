/**
 * `deno task bench`: runs each benchmark section on each available backend and prints one
 * Markdown table per section. Add a backend to `backends()` or a section to `SECTIONS`.
 */

import type { Backend } from "../engine/backend.ts";
import { cpuBackend } from "../engine/cpu/backend.ts";
import { benchKernels } from "./kernels.ts";

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
    columns: ["backend", "kernel", "shape", "median ms", "GFLOP/s"],
    rows: async (backend) =>
      (await benchKernels(backend)).map((r) => [
        backend.name,
        r.name,
        r.shape,
        r.medianMs.toFixed(1),
        r.gflops.toFixed(2),
      ]),
  },
];

/** The backends to measure. */
function backends(): Backend[] {
  return [cpuBackend()];
}

/** A Markdown table. */
export function markdownTable(columns: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(columns), line(columns.map(() => "---")), ...rows.map(line)].join("\n");
}

if (import.meta.main) {
  for (const section of SECTIONS) {
    const rows: string[][] = [];
    for (const backend of backends()) rows.push(...(await section.rows(backend)));
    console.log(`## ${section.title}\n\n${markdownTable(section.columns, rows)}\n`);
  }
}
