/**
 * The record of a bench run: machine, adapters, versions and every figure, written to
 * bench/results/<date>-<host>.json (the folder is excluded from fmt and from the package).
 */
import type { Backend } from "../engine/backend.ts";
import type { Comparison } from "./compare.ts";

/** One printed table of the run. */
export interface SectionTable {
  /** Heading. */
  title: string;
  /** Column headings. */
  columns: string[];
  /** Cells as printed. */
  rows: string[][];
}

/** Load average (1, 5, 15 min) when this module was loaded, i.e. when the bench started. */
const LOAD_AT_START = Deno.loadavg();

/**
 * What the machine is: OS, logical CPUs, memory, load at the start and end of the run (the CPU
 * model comes with the peer's environment: Deno reads /proc only under --allow-all).
 */
export function machineInfo(): Record<string, unknown> {
  return {
    hostname: Deno.hostname(),
    os: `${Deno.build.os} ${Deno.osRelease()} ${Deno.build.arch}`,
    logicalCpus: navigator.hardwareConcurrency,
    memoryBytes: Deno.systemMemoryInfo().total,
    loadAverageAtStart: LOAD_AT_START,
    loadAverageAtEnd: Deno.loadavg(),
  };
}

/** Our version (deno.json) and the runtime's. */
export function versions(): Record<string, string> {
  const config = JSON.parse(
    Deno.readTextFileSync(new URL("../deno.json", import.meta.url)),
  ) as { version: string };
  return {
    ptycho: config.version,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
  };
}

/** Writes the run's JSON; returns its path. */
export function writeResults(
  backends: Backend[],
  sections: SectionTable[],
  comparison: Comparison,
  options: Record<string, unknown>,
): string {
  const machine = machineInfo();
  const date = new Date();
  const dir = new URL("./results/", import.meta.url);
  Deno.mkdirSync(dir, { recursive: true });
  const host = String(machine.hostname).replace(/[^A-Za-z0-9._-]/g, "_");
  // A --quick run gets its own file, so it never replaces the day's full record.
  const kind = options.quick ? "-quick" : "";
  const file = new URL(`${date.toISOString().slice(0, 10)}-${host}${kind}.json`, dir);
  const record = {
    date: date.toISOString(),
    command: `deno task bench ${Deno.args.join(" ")}`.trim(),
    elapsedSeconds: Math.round(performance.now() / 1000),
    options,
    machine,
    adapters: backends.map((b) => ({ backend: b.name, description: b.description })),
    versions: versions(),
    peer: { environment: comparison.peerEnvironment, golden: comparison.peerGolden },
    figures: comparison.figures,
    sections,
  };
  Deno.writeTextFileSync(file, JSON.stringify(record, null, 1) + "\n");
  return file.pathname;
}
