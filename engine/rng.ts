/**
 * A seeded pseudo-random generator with the same stream on every machine: xoshiro128** on
 * 32-bit integer arithmetic, seeded through splitmix32. Floats are built in f64.
 */
export class Rng {
  #s = new Uint32Array(4);
  #spareNormal: number | null = null;

  /** Seed the generator (any finite number; the integer part of its magnitude is used). */
  constructor(seed: number) {
    let x = Math.floor(Math.abs(seed)) >>> 0;
    const hi = Math.floor(Math.abs(seed) / 2 ** 32) >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9 + (i === 1 ? hi : 0)) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.#s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if (this.#s.every((v) => v === 0)) this.#s[0] = 1;
  }

  /** The next 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.#s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5, lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Standard normal (Box–Muller, pairs cached). */
  normal(): number {
    if (this.#spareNormal !== null) {
      const v = this.#spareNormal;
      this.#spareNormal = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u)), theta = 2 * Math.PI * this.uniform();
    this.#spareNormal = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  /** Poisson-distributed integer with mean `lambda` (Knuth for small means, PTRS above 30). */
  poisson(lambda: number): number {
    if (!(lambda > 0)) return 0;
    if (lambda < 30) {
      const limit = Math.exp(-lambda);
      let k = 0, p = this.uniform();
      while (p > limit) {
        k++;
        p *= this.uniform();
      }
      return k;
    }
    // Hörmann's transformed rejection with squeeze (PTRS).
    const slam = Math.sqrt(lambda), loglam = Math.log(lambda);
    const b = 0.931 + 2.53 * slam, a = -0.059 + 0.02483 * b;
    const invalpha = 1.1239 + 1.1328 / (b - 3.4), vr = 0.9277 - 3.6224 / (b - 2);
    for (;;) {
      const u = this.uniform() - 0.5, v = this.uniform();
      const us = 0.5 - Math.abs(u);
      const k = Math.floor((2 * a / us + b) * u + lambda + 0.43);
      if (us >= 0.07 && v <= vr) return k;
      if (k < 0 || (us < 0.013 && v > us)) continue;
      const lhs = Math.log(v * invalpha / (a / (us * us) + b));
      const rhs = -lambda + k * loglam - lnFactorial(k);
      if (lhs <= rhs) return k;
    }
  }

  /** Fisher–Yates shuffle in place; returns the array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }

  /** `count` distinct integers from [0, n), in random order. */
  choice(n: number, count: number): number[] {
    if (count > n) throw new Error(`choice: cannot draw ${count} distinct values from ${n}`);
    return this.shuffle([...Array(n).keys()]).slice(0, count);
  }

  /** Glorot-uniform values for a weight with the given fan-in and fan-out. */
  glorotUniform(size: number, fanIn: number, fanOut: number): Float32Array {
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    const out = new Float32Array(size);
    for (let i = 0; i < size; i++) out[i] = (2 * this.uniform() - 1) * limit;
    return out;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

function lnFactorial(k: number): number {
  if (k < 2) return 0;
  // Stirling series, accurate to ~1e-10 for k ≥ 2 at the sizes PTRS asks for (k ≳ 10).
  const x = k + 1;
  return (x - 0.5) * Math.log(x) - x + 0.5 * Math.log(2 * Math.PI) + 1 / (12 * x) -
    1 / (360 * x ** 3) +
    1 / (1260 * x ** 5);
}
