/**
 * Test helpers: random tensors and a central finite-difference gradient check.
 *
 * The engine is f32, so the check evaluates the loss L = Σ y·r (r random, fixed) in f64 from the
 * op's f32 outputs and uses a step of 1e-2 on inputs of order 1. Truncation error is O(h²·f''')
 * ≈ 1e-4 and rounding error ≈ 1e-5·|L|/h; the tolerance (2 % of the largest gradient entry plus a
 * small absolute term) is far below the error of a wrong sign, a missing factor or a transposed
 * index, which the self-tests in ops_test.ts confirm by feeding a deliberately wrong gradient.
 */
import { backward, mul, Rng, sum, type Tensor, tensor, tidy } from "../../engine/mod.ts";

/** Random values in [lo, hi). */
export function randomArray(rng: Rng, n: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * rng.uniform();
  return out;
}

/** Options of {@link gradCheck}. */
export interface GradCheckOptions {
  /** Finite-difference step. */
  step?: number;
  /** Relative tolerance w.r.t. the largest |gradient| entry. */
  rtol?: number;
  /** Absolute tolerance. */
  atol?: number;
  /** Indices checked per input (random subset when the input is larger). */
  samples?: number;
  /** Which inputs to check (default all). */
  check?: readonly boolean[];
  seed?: number;
}

function lossOf(y: Float32Array, r: Float32Array): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) s += y[i] * r[i];
  return s;
}

/**
 * Compare the autograd gradient of Σ f(inputs)·r with central differences. Returns the worst
 * violation description or null when all entries agree.
 */
export function gradCheck(
  f: (xs: Tensor[]) => Tensor,
  values: readonly Float32Array[],
  shapes: readonly (readonly number[])[],
  opts: GradCheckOptions = {},
): string | null {
  const h = opts.step ?? 1e-2, rtol = opts.rtol ?? 2e-2, atol = opts.atol ?? 1e-3;
  const rng = new Rng(opts.seed ?? 7);
  const evalOut = (vals: readonly Float32Array[]) =>
    tidy(() => f(vals.map((v, i) => tensor(v, shapes[i]))).dataSync());
  const y0 = evalOut(values);
  const r = randomArray(rng, y0.length);
  const analytic = tidy(() => {
    const xs = values.map((v, i) =>
      tensor(v, shapes[i], { requiresGrad: opts.check?.[i] ?? true })
    );
    const y = f(xs);
    backward(sum(mul(y, tensor(r, y.shape))));
    return xs.map((x) => (x.grad ? x.grad.dataSync() : null));
  });
  for (let i = 0; i < values.length; i++) {
    if (!(opts.check?.[i] ?? true)) continue;
    const g = analytic[i];
    if (g === null) return `input ${i}: no gradient was computed`;
    const n = values[i].length;
    const count = Math.min(n, opts.samples ?? 24);
    const idx = count === n ? [...Array(n).keys()] : rng.choice(n, count);
    const numeric: number[] = [];
    for (const j of idx) {
      const plus = values.map((v) => v.slice()), minus = values.map((v) => v.slice());
      plus[i][j] += h;
      minus[i][j] -= h;
      numeric.push((lossOf(evalOut(plus), r) - lossOf(evalOut(minus), r)) / (2 * h));
    }
    const scale = Math.max(...numeric.map(Math.abs), ...idx.map((j) => Math.abs(g[j])));
    for (let k = 0; k < idx.length; k++) {
      const a = g[idx[k]], nm = numeric[k];
      if (!(Math.abs(a - nm) <= atol + rtol * scale)) {
        return `input ${i}[${idx[k]}]: autograd ${a}, finite difference ${nm} (scale ${scale})`;
      }
    }
  }
  return null;
}
