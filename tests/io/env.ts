/**
 * Test environment probes: real NumPy through /usr/bin/python3, and the shared data folder.
 * Where one is missing the tests that need it are skipped with a message, except under CI=true,
 * where a missing one fails them.
 */

const PYTHON = "/usr/bin/python3";
const inCI = Deno.env.get("CI") === "true";

/** Runs a Python snippet with NumPy; returns stdout, throwing with stderr on failure. */
export function runPython(code: string, args: string[] = []): string {
  const out = new Deno.Command(PYTHON, { args: ["-c", code, ...args] }).outputSync();
  const text = new TextDecoder();
  if (!out.success) throw new Error(`python failed:\n${text.decode(out.stderr)}`);
  return text.decode(out.stdout);
}

function probeNumpy(): boolean {
  try {
    runPython("import numpy");
    return true;
  } catch {
    return false;
  }
}

/** Whether /usr/bin/python3 can import numpy (always true under CI=true, else the tests fail). */
export const hasNumpy: boolean = probeNumpy();

/** Whether /usr/bin/python3 can import h5py (Debian: python3-h5py), for the HDF5/CXI fixtures. */
export const hasH5py: boolean = (() => {
  try {
    runPython("import h5py");
    return true;
  } catch {
    return false;
  }
})();

/** Absolute path of a file in the shared data folder (../shared/data next to the repository). */
export function sharedDataPath(name: string): string {
  return new URL(`../../../shared/data/${name}`, import.meta.url).pathname;
}

/** Whether a shared data file exists. */
export function hasSharedData(name: string): boolean {
  try {
    return Deno.statSync(sharedDataPath(name)).isFile;
  } catch {
    return false;
  }
}

/**
 * Registers a test that needs `requirement`: skipped with a printed reason when it is missing,
 * run (and so failing) anyway under CI=true.
 */
export function testRequiring(
  requirement: { available: boolean; what: string },
  name: string,
  fn: () => void | Promise<void>,
): void {
  const skip = !requirement.available && !inCI;
  if (skip) console.warn(`skipping "${name}": ${requirement.what} is not available`);
  Deno.test({ name, ignore: skip, fn });
}
