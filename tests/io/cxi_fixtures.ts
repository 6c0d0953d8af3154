/**
 * The CXI/HDF5 fixtures of fixtures/make_cxi.py, made once per test process into a temporary
 * folder from a committed `.npz` (h5py needed; see tests/io/env.ts).
 */
import { runPython } from "./env.ts";

const SCRIPT = new URL("../../fixtures/make_cxi.py", import.meta.url).pathname;
const made = new Map<string, string>();
globalThis.addEventListener("unload", () => {
  for (const dir of made.values()) Deno.removeSync(dir, { recursive: true });
});

/** The folder holding scan.cxi, noprobe.cxi, counts_mask.cxi, probe.npy, contract.h5, ... */
export function cxiFixtures(npz: string): string {
  let dir = made.get(npz);
  if (dir === undefined) {
    dir = Deno.makeTempDirSync({ prefix: "ptycho-cxi-" });
    runPython(
      `import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name="__main__")`,
      [
        SCRIPT,
        npz,
        dir,
      ],
    );
    made.set(npz, dir);
  }
  return dir;
}

/** Runs a Python snippet with h5py and numpy imported as `h5py`, `np`; `args` as `sys.argv[1:]`. */
export function h5python(code: string, ...args: string[]): string {
  return runPython(`import sys, h5py, numpy as np\n${code}`, args);
}
