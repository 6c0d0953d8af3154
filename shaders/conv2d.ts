/**
 * Stride-1 2-D convolution kernels (NCHW), direct (no im2col buffer):
 *
 * - `convWeightPrepWgsl` re-lays the weights as W4[ic][ky][kx][oc] with oc padded to a multiple
 *   of 8 and read as vec4, flipping and transposing them for the input gradient, which is the
 *   same direct convolution of dy with the flipped kernel.
 * - `convDirectWgsl` is the forward (and input-gradient) kernel: each invocation computes 8
 *   consecutive output pixels of one row × 8 output channels (8 × 2 vec4 accumulators). Per input
 *   channel and kernel row it loads the 8 + KW − 1 input pixels it needs once and reuses them for
 *   all KW taps: on llvmpipe this register block ran 3× faster than one pixel per invocation
 *   (LLVMPIPE.md); on a GPU neighbouring lanes share the input row (broadcast) and read
 *   neighbouring weight vectors. KH and KW are baked into the text so the taps unroll.
 * - `convGradWeightWgsl`: each invocation owns an 8 (output channel) × 8 (input channel) block of
 *   dw for one tap (ky, kx) and sums dy·x over a fixed range of image rows; the backend splits
 *   the rows into chunks (partials) and sums the partials in a fixed order with the reduce kernel.
 */
import { flatMain, readBuf, UNIFORM_P, writeBuf } from "./common.ts";

/** Output channels and pixels per invocation of the direct kernel. */
export const CONV_BLOCK = 8;

/** Weight re-layout; uniforms (n, icn, ocn, ocPad, kh, kw, flip). */
export function convWeightPrepWgsl(): string {
  return `struct P { n: u32, icn: u32, ocn: u32, ocPad: u32, kh: u32, kw: u32, flip: u32 }
${UNIFORM_P}${readBuf(1, "w")}${writeBuf(2, "y")}
${
    flatMain(`  if (i >= p.n) { return; }
  let oc = i % p.ocPad;
  var t = i / p.ocPad;
  let kx = t % p.kw;
  t = t / p.kw;
  let ky = t % p.kh;
  let ic = t / p.kh;
  if (oc >= p.ocn) { y[i] = 0.0; return; }
  var src = ((oc * p.icn + ic) * p.kh + ky) * p.kw + kx;
  if (p.flip == 1u) {
    src = ((ic * p.ocn + oc) * p.kh + (p.kh - 1u - ky)) * p.kw + (p.kw - 1u - kx);
  }
  y[i] = w[src];`)
  }`;
}

/**
 * Direct convolution with a KH × KW kernel; uniforms (n, c, h, w, o, outH, outW, padTop,
 * padLeft, tilesX, tilesO, ocPad4).
 */
export function convDirectWgsl(KH: number, KW: number): string {
  const B = CONV_BLOCK;
  const L = B + KW - 1;
  const js = [...Array(B).keys()];
  const out: string[] = [];
  out.push(`  let total = p.n * p.outH * p.tilesX * p.tilesO;
  if (i >= total) { return; }
  let ot = i % p.tilesO;
  var t = i / p.tilesO;
  let xt = t % p.tilesX;
  t = t / p.tilesX;
  let oy = t % p.outH;
  let b = t / p.outH;
  let x0 = i32(xt * ${B}u);
  let hw = p.h * p.w;`);
  for (let s = 0; s < L; s++) {
    out.push(`  let ix${s} = x0 + ${s} - p.padLeft;
  let cOk${s} = ix${s} >= 0 && ix${s} < i32(p.w);
  let cx${s} = u32(clamp(ix${s}, 0, i32(p.w) - 1));`);
  }
  for (const j of js) out.push(`  var acc${j}a = vec4f(0.0);\n  var acc${j}b = vec4f(0.0);`);
  out.push(`  var xBase = b * p.c * hw;
  var wIdx = ot * 2u;
  let wStep = p.ocPad4;
  for (var ic = 0u; ic < p.c; ic++) {`);
  for (let ky = 0; ky < KH; ky++) {
    out.push(`    {
      let iy = i32(oy) + ${ky} - p.padTop;
      let rOk = iy >= 0 && iy < i32(p.h);
      let rowOff = xBase + u32(clamp(iy, 0, i32(p.h) - 1)) * p.w;`);
    for (let s = 0; s < L; s++) {
      out.push(`      let r${s} = select(0.0, X[rowOff + cx${s}], rOk && cOk${s});`);
    }
    for (let kx = 0; kx < KW; kx++) {
      out.push(
        `      let w${kx}a = W[wIdx];\n      let w${kx}b = W[wIdx + 1u];\n      wIdx += wStep;`,
      );
      for (const j of js) {
        out.push(
          `      acc${j}a += r${j + kx} * w${kx}a;\n      acc${j}b += r${j + kx} * w${kx}b;`,
        );
      }
    }
    out.push("    }");
  }
  out.push(`    xBase += hw;
  }
  let ohw = p.outH * p.outW;
  let yBase = (b * p.o + ot * ${B}u) * ohw + oy * p.outW + u32(x0);`);
  for (const j of js) {
    out.push(`  if (u32(x0) + ${j}u < p.outW) {`);
    for (let q = 0; q < B; q++) {
      const v = `acc${j}${q < 4 ? "a" : "b"}[${q % 4}]`;
      out.push(`    if (ot * ${B}u + ${q}u < p.o) { Y[yBase + ${q}u * ohw + ${j}u] = ${v}; }`);
    }
    out.push("  }");
  }
  return `struct P { n: u32, c: u32, h: u32, w: u32, o: u32, outH: u32, outW: u32, padTop: i32,
  padLeft: i32, tilesX: u32, tilesO: u32, ocPad4: u32 }
${UNIFORM_P}${readBuf(1, "X")}${readBuf(2, "W", "vec4f")}${writeBuf(3, "Y")}
${flatMain(out.join("\n"))}`;
}

/**
 * Weight gradient partials: part[s, o, c, ky, kx] = Σ over image rows of chunk s of dy·x;
 * uniforms (n, c, h, w, o, outH, outW, padTop, padLeft, kh, kw, tilesO, tilesC, rowsPerSplit,
 * splits).
 */
export function convGradWeightWgsl(): string {
  const B = CONV_BLOCK;
  const qs = [...Array(B).keys()];
  const out: string[] = [];
  out.push(`  let total = p.splits * p.tilesO * p.kh * p.kw * p.tilesC;
  if (i >= total) { return; }
  let ct = i % p.tilesC;
  var t = i / p.tilesC;
  let kx = t % p.kw;
  t = t / p.kw;
  let ky = t % p.kh;
  t = t / p.kh;
  let ot = t % p.tilesO;
  let s = t / p.tilesO;
  let hw = p.h * p.w;
  let ohw = p.outH * p.outW;`);
  for (const q of qs) {
    out.push(`  let xc${q} = min(ct * ${B}u + ${q}u, p.c - 1u) * hw;`);
    out.push(`  let dyo${q} = min(ot * ${B}u + ${q}u, p.o - 1u) * ohw;`);
    out.push(`  var acc${q}a = vec4f(0.0);\n  var acc${q}b = vec4f(0.0);`);
  }
  out.push(`  let xLo = u32(max(0, p.padLeft - i32(kx)));
  let xHi = u32(clamp(i32(p.w) + p.padLeft - i32(kx), 0, i32(p.outW)));
  let g1 = min((s + 1u) * p.rowsPerSplit, p.n * p.outH);
  for (var g = s * p.rowsPerSplit; g < g1; g++) {
    let b = g / p.outH;
    let oy = g % p.outH;
    let iy = i32(oy) + i32(ky) - p.padTop;
    if (iy < 0 || iy >= i32(p.h)) { continue; }
    let xRow = b * p.c * hw + u32(iy) * p.w + u32(i32(kx) - p.padLeft);
    let dRow = b * p.o * ohw + oy * p.outW;
    for (var ox = xLo; ox < xHi; ox++) {
      let xi = xRow + ox;
      let di = dRow + ox;
      let xa = vec4f(X[xi + xc0], X[xi + xc1], X[xi + xc2], X[xi + xc3]);
      let xb = vec4f(X[xi + xc4], X[xi + xc5], X[xi + xc6], X[xi + xc7]);`);
  for (const q of qs) {
    out.push(`      let d${q} = DY[di + dyo${q}];
      acc${q}a += d${q} * xa;
      acc${q}b += d${q} * xb;`);
  }
  out.push(`    }
  }
  let taps = p.kh * p.kw;
  let tap = ky * p.kw + kx;`);
  for (const r of qs) {
    out.push(`  if (ot * ${B}u + ${r}u < p.o) {
    let base = ((s * p.o + ot * ${B}u + ${r}u) * p.c + ct * ${B}u) * taps + tap;`);
    for (const q of qs) {
      const v = `acc${r}${q < 4 ? "a" : "b"}[${q % 4}]`;
      out.push(`    if (ct * ${B}u + ${q}u < p.c) { Y[base + ${q}u * taps] = ${v}; }`);
    }
    out.push("  }");
  }
  return `struct P { n: u32, c: u32, h: u32, w: u32, o: u32, outH: u32, outW: u32, padTop: i32,
  padLeft: i32, kh: u32, kw: u32, tilesO: u32, tilesC: u32, rowsPerSplit: u32, splits: u32 }
${UNIFORM_P}${readBuf(1, "X")}${readBuf(2, "DY")}${writeBuf(3, "Y")}
${flatMain(out.join("\n"))}`;
}
