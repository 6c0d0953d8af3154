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

/** The first match of `pattern` in a text file, or null (file absent, no match). */
function grep(path: string, pattern: RegExp): string | null {
  try {
    return pattern.exec(Deno.readTextFileSync(path))?.[1]?.trim() ?? null;
  } catch {
    return null;
  }
}

/** What the machine is: OS, CPU model and count, memory, load when the run started. */
export function machineInfo(): Record<string, unknown> {
  const memKib = grep("/proc/meminfo", /MemTotal:\s+(\d+) kB/);
  return {
    hostname: Deno.hostname(),
    os: `${Deno.build.os} ${Deno.osRelease()} ${Deno.build.arch}`,
    cpuModel: grep("/proc/cpuinfo", /model name\s*:\s*(.*)/),
    logicalCpus: navigator.hardwareConcurrency,
    memoryBytes: memKib === null ? null : Number(memKib) * 1024,
    loadAverage: grep("/proc/loadavg", /^(\S+ \S+ \S+)/),
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
  const file = new URL(`${date.toISOString().slice(0, 10)}-${host}.json`, dir);
  const record = {
    date: date.toISOString(),
    command: `deno task bench ${Deno.args.join(" ")}`.trim(),
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
