/**
 * The memory budget that array reads are checked against before anything is allocated: the
 * environment variable `PTYCHO_MEMORY_BUDGET` (e.g. `2GiB`, `512MiB`, `1.5GB`, `1000000`) when
 * set, else the memory the system has available now (`Deno.systemMemoryInfo()` where
 * `--allow-sys=systemMemoryInfo` is granted, as the deno.json tasks do, else `MemAvailable` in
 * /proc/meminfo, which Deno lets only `--allow-all` read), else no limit. Outside Deno (a
 * browser page) there is neither, and the budget is unlimited: the page's own memory limit
 * applies.
 */
import { PtychoInputError } from "./errors.ts";

/** The environment variable that overrides the budget. */
export const MEMORY_BUDGET_ENV = "PTYCHO_MEMORY_BUDGET";

/** A budget in bytes and where it came from (for messages). */
export interface MemoryBudget {
  /** Bytes one read may commit (Infinity where nothing is known). */
  bytes: number;
  /** "PTYCHO_MEMORY_BUDGET" or "available memory; PTYCHO_MEMORY_BUDGET overrides it". */
  source: string;
}

const UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  kib: 2 ** 10,
  m: 1e6,
  mb: 1e6,
  mib: 2 ** 20,
  g: 1e9,
  gb: 1e9,
  gib: 2 ** 30,
  t: 1e12,
  tb: 1e12,
  tib: 2 ** 40,
};

/** Parses "2GiB", "512 MiB", "1.5GB", "1000000" into bytes; null if it is not a size. */
export function parseByteSize(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined) return null;
  const bytes = Math.floor(Number(m[1]) * unit);
  return bytes > 0 ? bytes : null;
}

/** A size for people: "812 B", "3.1 MiB", "3.05 GiB". */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes, u = 0;
  while (value >= 1024 && u < units.length - 1) value /= 1024, u++;
  return u === 0 ? `${bytes} B` : `${value.toPrecision(3)} ${units[u]}`;
}

/** The current budget; a malformed `PTYCHO_MEMORY_BUDGET` is a {@link PtychoInputError}. */
export function memoryBudget(): MemoryBudget {
  const env = envBudget();
  if (env !== undefined) {
    const bytes = parseByteSize(env);
    if (bytes === null) {
      throw new PtychoInputError(MEMORY_BUDGET_ENV, `'${env}' is not a size (e.g. 2GiB, 512MiB)`);
    }
    return { bytes, source: MEMORY_BUDGET_ENV };
  }
  return {
    bytes: availableMemory() ?? Infinity,
    source: `available memory; ${MEMORY_BUDGET_ENV} overrides it`,
  };
}

/**
 * Throws a {@link PtychoInputError} naming `file` when `bytes` exceed the budget: `what` says what
 * needs them ("key 'diffraction' (200000, 64, 64) f4"), `advice` what to do instead.
 */
export function checkMemory(file: string, what: string, bytes: number, advice: string): void {
  const budget = memoryBudget();
  if (bytes <= budget.bytes) return;
  throw new PtychoInputError(
    file,
    `${what} needs ${formatBytes(bytes)} of memory, more than the budget of ` +
      `${formatBytes(budget.bytes)} (${budget.source}); ${advice}`,
  );
}

/** Deno's namespace, or undefined in a browser (this module must import without it). */
const deno = (globalThis as { Deno?: typeof Deno }).Deno;

function envBudget(): string | undefined {
  if (deno === undefined) return undefined;
  const permission = Deno.permissions.querySync({ name: "env", variable: MEMORY_BUDGET_ENV });
  return permission.state === "granted" ? Deno.env.get(MEMORY_BUDGET_ENV) : undefined;
}

function availableMemory(): number | null {
  if (deno === undefined) return null;
  if (Deno.permissions.querySync({ name: "sys", kind: "systemMemoryInfo" }).state === "granted") {
    return Deno.systemMemoryInfo().available;
  }
  try {
    const m = /^MemAvailable:\s+(\d+) kB/m.exec(Deno.readTextFileSync("/proc/meminfo"));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}
