/** Host-memory storage for the CPU backend: a Float32Array that can be released once. */

import type { Storage } from "../backend.ts";

/** A CPU storage: owns one Float32Array until it is released. */
export class CpuStorage implements Storage {
  /** Number of f32 elements. */
  readonly size: number;
  #data: Float32Array | null;

  /** Wrap `data` (taken over, not copied). */
  constructor(data: Float32Array) {
    this.size = data.length;
    this.#data = data;
  }

  /** The values; throws once the storage has been released. */
  get data(): Float32Array {
    if (this.#data === null) throw new Error("cpu storage used after release");
    return this.#data;
  }

  /** Whether `release` has been called. */
  get released(): boolean {
    return this.#data === null;
  }

  /** Drop the array; any later use throws. */
  release(): void {
    if (this.#data === null) throw new Error("cpu storage released twice");
    this.#data = null;
  }
}

/** The Float32Array behind `s`; throws if `s` is not a live CPU storage. */
export function dataOf(s: Storage): Float32Array {
  if (!(s instanceof CpuStorage)) throw new Error("storage does not belong to the cpu backend");
  return s.data;
}
