/** Small helpers shared by the CPU kernel tests: a seeded generator, f64 references, asserts. */

/** A deterministic uniform generator on [0, 1) (mulberry32). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` values uniform on [lo, hi). */
export function randomArray(rand: () => number, n: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * rand();
  return out;
}

/** Product of the axis lengths. */
export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}

/** Coordinates of flat index `index` in a row-major `shape`. */
export function unravel(index: number, shape: readonly number[]): number[] {
  const coord = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    coord[d] = index % shape[d];
    index = Math.floor(index / shape[d]);
  }
  return coord;
}

/** Flat row-major index of `coord` in `shape`. */
export function ravel(coord: readonly number[], shape: readonly number[]): number {
  let index = 0;
  for (let d = 0; d < shape.length; d++) index = index * shape[d] + coord[d];
  return index;
}

/** Σ a[i]·b[i] in f64. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Euclidean norm in f64. */
export function norm(a: ArrayLike<number>): number {
  return Math.sqrt(dot(a, a));
}

/** Throw unless |actual - expected| <= atol + rtol·|expected| everywhere (and lengths match). */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  atol: number,
  rtol: number,
  what: string,
): void {
  if (actual.length !== expected.length) {
    throw new Error(`${what}: length ${actual.length}, expected ${expected.length}`);
  }
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i], e = expected[i];
    const ok = a === e ||
      (Number.isNaN(e) ? Number.isNaN(a) : Math.abs(a - e) <= atol + rtol * Math.abs(e));
    if (!ok) throw new Error(`${what}: at ${i} got ${a}, expected ${e}`);
  }
}

/** Throw unless two scalars agree within `tol`. */
export function assertNear(actual: number, expected: number, tol: number, what: string): void {
  if (!(Math.abs(actual - expected) <= tol)) {
    throw new Error(`${what}: got ${actual}, expected ${expected} (tol ${tol})`);
  }
}
