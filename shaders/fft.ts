/**
 * Batched 1-D DFT of power-of-two length N along one axis; fft2 runs it twice (rows, then columns).
 * One invocation transforms one whole line: on llvmpipe this beat both the one-dispatch-per-stage
 * Stockham and the shared-memory workgroup FFT (docs/engine.md#fft-kernels), because it needs no
 * barriers and only two dispatches per 2-D transform.
 *
 * The transform is fully unrolled for the given N: the line is loaded in bit-reversed order into
 * N named values, then radix-4 DIT stages (one radix-2 stage first when log2 N is odd) run as
 * straight-line code with twiddles baked into the WGSL text as f32 literals computed in f64 on
 * the CPU. No index arithmetic, no private-array indexing and no twiddle loads remain; this ran
 * 2-3× faster than the same algorithm written with loops and a twiddle table.
 */
import { flatMain, type Kernel, kernel, readBuf, UNIFORM_P, writeBuf } from "./common.ts";

/** Bit reversal of k over `bits` bits. */
function reverseBits(k: number, bits: number): number {
  let r = 0;
  for (let b = 0; b < bits; b++) r = (r << 1) | ((k >> b) & 1);
  return r;
}

/**
 * Line transform of length N (a power of two ≥ 2); `inverse` selects exp(+2πi·) twiddles.
 * Uniforms (lines, inner, outerStride, elemStride, scale): line l starts at
 * (l / inner)·outerStride + l % inner and its elements are elemStride apart (complex units).
 */
export function fftLineKernel(N: number, inverse: boolean): Kernel {
  // Length 2 has no twiddle other than 1: both directions are one text, so one key.
  return kernel(`fft.line/n${N}${inverse && N > 2 ? "/inverse" : ""}`, () => {
    const LOG = Math.round(Math.log2(N));
    if (N < 2 || 2 ** LOG !== N) throw new Error(`fft length ${N} is not a power of two >= 2`);
    const sign = inverse ? 1 : -1;
    // x · exp(sign·2πi·num/den), with the trivial twiddle 1 skipped.
    const twiddle = (x: string, num: number, den: number) => {
      if (num === 0) return x;
      const angle = (2 * Math.PI * num) / den;
      const c = Math.fround(Math.cos(angle)), s = Math.fround(sign * Math.sin(angle));
      return `cm(${x}, vec2f(${c}, ${s}))`;
    };
    const L: string[] = [];
    L.push(`  if (i >= p.lines) { return; }
  let base = (i / p.inner) * p.outerStride + (i % p.inner);`);
    let names = [...Array(N).keys()].map((k) => `v0_${k}`);
    for (let k = 0; k < N; k++) L.push(`  let v0_${k} = X[base + ${reverseBits(k, LOG)}u * p.es];`);
    let h = 1, stage = 0;
    if (LOG % 2 === 1) {
      stage++;
      for (let g = 0; g < N; g += 2) {
        const [a, b] = [names[g], names[g + 1]];
        L.push(`  let v${stage}_${g} = ${a} + ${b};\n  let v${stage}_${g + 1} = ${a} - ${b};`);
      }
      names = names.map((_, k) => `v${stage}_${k}`);
      h = 2;
    }
    // Radix-4 stage joining 4 blocks of length h into one of length 4h: a radix-2 DIT stage of
    // half-length h followed by one of half-length 2h, fused so each value is touched once.
    while (h < N) {
      stage++;
      for (let g = 0; g < N / 4; g++) {
        const j = g % h, i0 = Math.floor(g / h) * 4 * h + j;
        const [n0, n1, n2, n3] = [i0, i0 + h, i0 + 2 * h, i0 + 3 * h];
        const t = `t${stage}_${g}`;
        const v = (n: number) => `v${stage}_${n}`;
        L.push(`  let ${t}a1 = ${twiddle(names[n1], j, 2 * h)};
  let ${t}a3 = ${twiddle(names[n3], j, 2 * h)};
  let ${t}b0 = ${names[n0]} + ${t}a1;
  let ${t}b1 = ${names[n0]} - ${t}a1;
  let ${t}b2 = ${twiddle(`(${names[n2]} + ${t}a3)`, j, 4 * h)};
  let ${t}b3 = ${twiddle(`(${names[n2]} - ${t}a3)`, j + h, 4 * h)};
  let ${v(n0)} = ${t}b0 + ${t}b2;
  let ${v(n2)} = ${t}b0 - ${t}b2;
  let ${v(n1)} = ${t}b1 + ${t}b3;
  let ${v(n3)} = ${t}b1 - ${t}b3;`);
      }
      names = names.map((_, k) => `v${stage}_${k}`);
      h *= 4;
    }
    for (let k = 0; k < N; k++) L.push(`  Y[base + ${k}u * p.es] = ${names[k]} * p.scale;`);
    return `struct P { lines: u32, inner: u32, outerStride: u32, es: u32, scale: f32 }
${UNIFORM_P}${readBuf(1, "X", "vec2f")}${writeBuf(2, "Y", "vec2f")}
fn cm(a: vec2f, b: vec2f) -> vec2f { return vec2f(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x); }
${flatMain(L.join("\n"))}`;
  });
}
