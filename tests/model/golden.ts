/**
 * Access to the upstream forward-model fixtures in ../shared/data/forward_golden/, read in place.
 * Absent (a user's machine): tests skip with a message; with CI=true they fail instead.
 */
import type { NpyArray } from "../../io/npy.ts";
import { readNpzFile } from "../../io/npz.ts";

/** Directory of the shared forward-golden fixtures. */
export const GOLDEN_DIR = new URL("../../../shared/data/forward_golden/", import.meta.url);

/** The arrays of fixture `name` (e.g. "c1_bigF"), or null (after a skip note) when absent. */
export function loadGolden(name: string): Map<string, NpyArray> | null {
  const url = new URL(`${name}.npz`, GOLDEN_DIR);
  try {
    Deno.statSync(url);
  } catch {
    if (Deno.env.get("CI") === "true") {
      throw new Error(`golden fixture ${url.pathname} is missing (required when CI=true)`);
    }
    console.warn(`skipping: golden fixture ${url.pathname} is absent on this machine`);
    return null;
  }
  return readNpzFile(url.pathname);
}

/** The values of a numeric array as f32. */
export function f32(a: NpyArray): Float32Array {
  return Float32Array.from(a.data as ArrayLike<number>);
}

/** Interleave real and imaginary parts into (re, im) pairs. */
export function interleave(re: Float32Array, im: Float32Array): Float32Array {
  const out = new Float32Array(2 * re.length);
  for (let i = 0; i < re.length; i++) {
    out[2 * i] = re[i];
    out[2 * i + 1] = im[i];
  }
  return out;
}
