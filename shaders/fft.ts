/**
 * Batched 1-D DFT of power-of-two length N along one axis; fft2 runs it twice (rows, then
 * columns). One invocation transforms one whole line held in a private array: on llvmpipe this
 * beat both the one-dispatch-per-stage Stockham and the shared-memory workgroup FFT
 * (LLVMPIPE.md), because it needs no barriers and only two dispatches per 2-D transform.
 * Inside, the line is loaded in bit-reversed order and transformed by radix-4 stages (one
 * radix-2 stage first when log2 N is odd). Twiddles come from a table exp(∓2πik/N), k < N,
 * computed in f64 on the CPU (`fftTwiddles`).
 */
import { flatMain, readBuf, UNIFORM_P, writeBuf } from "./common.ts";

/**
 * Line transform of length N; uniforms (lines, inner, outerStride, elemStride, scale): line l
 * starts at (l / inner)·outerStride + l % inner and its elements are elemStride apart (complex
 * units).
 */
export function fftLineWgsl(N: number): string {
  const LOG = Math.round(Math.log2(N));
  if (2 ** LOG !== N) throw new Error(`fft length ${N} is not a power of two`);
  return `const N: u32 = ${N}u;
const LOG: u32 = ${LOG}u;
struct P { lines: u32, inner: u32, outerStride: u32, es: u32, scale: f32 }
${UNIFORM_P}${readBuf(1, "X", "vec2f")}${readBuf(2, "TW", "vec2f")}${writeBuf(3, "Y", "vec2f")}
fn cm(a: vec2f, b: vec2f) -> vec2f { return vec2f(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x); }
${
    flatMain(`  if (i >= p.lines) { return; }
  let base = (i / p.inner) * p.outerStride + (i % p.inner);
  var d: array<vec2f, N>;
  for (var t = 0u; t < N; t++) {
    d[reverseBits(t) >> (32u - LOG)] = X[base + t * p.es];
  }
  var h = 1u;
  if ((LOG & 1u) == 1u) {
    for (var g = 0u; g < N; g += 2u) {
      let a = d[g];
      let b = d[g + 1u];
      d[g] = a + b;
      d[g + 1u] = a - b;
    }
    h = 2u;
  }
  // Radix-4 stage joining 4 blocks of length h into one of length 4h: a radix-2 DIT stage of
  // half-length h followed by one of half-length 2h, fused so each value is loaded once.
  while (h < N) {
    let stride = N / (4u * h);
    for (var g = 0u; g < N / 4u; g++) {
      let j = g % h;
      let i0 = (g / h) * 4u * h + j;
      let w1 = TW[j * 2u * stride];
      let w2 = TW[j * stride];
      let w3 = TW[(j + h) * stride];
      let a0 = d[i0];
      let a1 = cm(d[i0 + h], w1);
      let a2 = d[i0 + 2u * h];
      let a3 = cm(d[i0 + 3u * h], w1);
      let b0 = a0 + a1;
      let b1 = a0 - a1;
      let b2 = cm(a2 + a3, w2);
      let b3 = cm(a2 - a3, w3);
      d[i0] = b0 + b2;
      d[i0 + 2u * h] = b0 - b2;
      d[i0 + h] = b1 + b3;
      d[i0 + 3u * h] = b1 - b3;
    }
    h *= 4u;
  }
  for (var t = 0u; t < N; t++) {
    Y[base + t * p.es] = d[t] * p.scale;
  }`)
  }`;
}

/** Twiddle table exp(∓2πik/N) for k < N as interleaved f32 pairs, computed in f64. */
export function fftTwiddles(N: number, inverse: boolean): Float32Array {
  const out = new Float32Array(2 * N);
  const sign = inverse ? 1 : -1;
  for (let k = 0; k < N; k++) {
    const angle = (2 * Math.PI * k) / N;
    out[2 * k] = Math.cos(angle);
    out[2 * k + 1] = sign * Math.sin(angle);
  }
  return out;
}
