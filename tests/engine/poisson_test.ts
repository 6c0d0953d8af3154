/**
 * The fused per-element Poisson NLL: the CPU reference against the f64 formula, and WebGPU
 * against the CPU, over counts from 0 through the Stirling switch (k = 10) to 1e8.
 */
import { cpuBackend } from "../../engine/cpu/backend.ts";
import { lgamma } from "../../engine/cpu/elementwise.ts";
import { assertClose } from "./cpu_test_util.ts";
import { cpu, expectClose, gpuTest } from "./webgpu_test_util.ts";

const COUNTS = [0, 0, 1, 2, 3.5, 9, 10, 10.5, 11, 37, 500, 12345, 1e6, 1e8, 4, 0.25];
const RATES = [1e-8, 0.3, 1, 2.5, 3, 8, 10, 12, 9.5, 40, 480, 12000, 1.01e6, 0.99e8, 1e-8, 7];

/** λ − k ln λ + ln Γ(k+1) in f64, relative to the size of its terms. */
function expected(rate: number, k: number): number {
  return rate - k * Math.log(rate) + lgamma(k + 1);
}

Deno.test("cpu poissonNll: λ − k ln λ + ln Γ(k+1) per element, from k = 0 to 1e8", () => {
  const be = cpuBackend();
  const rate = Float32Array.from(RATES), k = Float32Array.from(COUNTS);
  const out = be.readSync(be.poissonNll(be.upload(rate), be.upload(k)))!;
  // The f64 value is a difference of ~k ln k terms: compare to their size, f32-rounded inputs.
  const want = Array.from(rate, (l, i) => expected(l, k[i]));
  const tol = Array.from(rate, (l, i) => 1e-6 * (l + k[i] * Math.abs(Math.log(l)) + 1));
  out.forEach((v, i) => {
    if (!(Math.abs(v - want[i]) <= tol[i])) {
      throw new Error(`k = ${k[i]}, λ = ${rate[i]}: ${v}, expected ${want[i]}`);
    }
  });
  // Near the solution (λ = k) the Stirling branch keeps the small value exact where the direct
  // f32 sum of ~1e9-sized terms would not.
  const big = be.readSync(
    be.poissonNll(be.upload(new Float32Array([1e8])), be.upload(new Float32Array([1e8]))),
  )!;
  assertClose(big, [0.5 * Math.log(2 * Math.PI * 1e8)], 1e-5, 1e-5, "λ = k = 1e8");
});

gpuTest("poissonNll matches the CPU (odd size, both sides of the Stirling switch)", async (g) => {
  const n = 16 * 7 + 3;
  const rate = new Float32Array(n).map((_, i) => RATES[i % RATES.length] * (1 + (i % 5) / 10));
  const k = new Float32Array(n).map((_, i) => COUNTS[(i * 3) % COUNTS.length]);
  const [rg, kg] = [g.upload(rate), g.upload(k)];
  const scale = Math.max(...Array.from(rate, (l, i) => l + k[i] * Math.abs(Math.log(l))));
  await expectClose(
    g,
    g.poissonNll(rg, kg),
    cpu.poissonNll(cpu.upload(rate), cpu.upload(k)),
    "poissonNll",
    { atol: 1e-5, rtol: 1e-5, scaleTol: 1e-6 * scale / Math.max(1, scale) },
  );
  for (const s of [rg, kg]) g.release(s);
});
