/**
 * Stride-1 2-D convolution kernels (NCHW), direct (no im2col buffer):
 *
 * - `convWeightPrepKernel` re-lays the weights as W[ot][ic][ky][kx][OB] (output channels in
 *   zero-padded blocks of OB, read as vec4), flipping and transposing them for the input
 *   gradient, which is the same direct convolution of dy with the flipped kernel.
 * - `convDirectKernel` is the forward (and input-gradient) kernel: each invocation computes PX
 *   consecutive output pixels of one row × OB output channels (`convDirectBlock`). Per input
 *   channel it loads the KH rows of PX + KW − 1 input pixels it needs once and reuses them for
 *   all taps; on llvmpipe big register blocks like this are what make convolution fast
 *   (docs/engine.md#convolution-kernels). On a GPU neighbouring lanes share the input rows (broadcast) and read
 *   neighbouring weight blocks. KH, KW, PX and OB are baked into the text so everything unrolls.
 * - The weight (and bias) gradient kernels live in shaders/conv2d_grad.ts.
 * - Rows a multiple of 4 long (every layer of the network) read their activations as aligned
 *   vec4: on llvmpipe each storage-buffer load runs a bounds-checked loop over the SIMD lanes
 *   per component, so four scalar loads cost about 2.3× one vec4 load (measured), and loads,
 *   more than multiply-adds, bound these kernels. Other widths use the scalar variants.
 * - The re-laid weights, and the input rows of the vec4 variants, can be read from textures
 *   (`texelAt` of shaders/common.ts) where the runtime has them: on llvmpipe a load from a
 *   read-only storage texture is an inline vectorised gather, about 3× cheaper than a
 *   storage-buffer vec4 load, and loads bound this kernel (docs/engine.md#storage-loads).
 */
import {
  flatMain,
  gridMain,
  type Kernel,
  kernel,
  readBuf,
  texelAt,
  texelBuf,
  type TexelKind,
  texelTag,
  UNIFORM_P,
  writeBuf,
} from "./common.ts";

/**
 * Block of the direct kernel for a layer: PX output pixels along a row × OB output channels per
 * invocation. Bigger blocks load fewer values per multiply-add; on llvmpipe (3×3, 64→64,
 * 64×64, B16) throughput per CPU second went 4.2 (4×4), 7.7 (8×8), 9.2 (16×16), 11.5 (32×16)
 * GFLOP/s with tap-by-tap accumulation, 15 for 32×16 with the per-channel accumulation used
 * now. Narrow images and few output channels get smaller blocks so lanes are not wasted.
 * With vec4 row loads, 64×16 and 32×32 blocks ran 5–14% faster still, but their cold compile on
 * llvmpipe took 15 s to over a minute per kernel (measured with MESA_SHADER_CACHE_DISABLE=true),
 * too much for a first run; 32×16 compiles in about 4 s.
 */
export function convDirectBlock(outW: number, o: number): { PX: number; OB: number } {
  const PX = outW >= 32 ? 32 : outW > 8 ? 16 : 8;
  const OB = o >= 16 ? 16 : o > 4 ? 8 : 4;
  return { PX, OB };
}

/**
 * Weight re-layout to W[ot][ic][ky][kx][OB] (output channels in blocks of OB, zero-padded), so
 * each invocation of the direct kernel streams its own weights contiguously; with `flip`, the
 * flipped, channel-transposed kernel of the input gradient. Uniforms (n, icn, ocn, kh, kw, flip).
 */
export function convWeightPrepKernel(OB: number): Kernel {
  return kernel(`conv2d.weights/ob${OB}`, () => {
    return `struct P { n: u32, icn: u32, ocn: u32, kh: u32, kw: u32, flip: u32 }
${UNIFORM_P}${readBuf(1, "w")}${writeBuf(2, "y")}
${
      gridMain(
        "p.n",
        `  let q = i % ${OB}u;
  var t = i / ${OB}u;
  let kx = t % p.kw;
  t = t / p.kw;
  let ky = t % p.kh;
  t = t / p.kh;
  let ic = t % p.icn;
  let oc = (t / p.icn) * ${OB}u + q;
  if (oc >= p.ocn) { y[i] = 0.0; return; }
  var src = ((oc * p.icn + ic) * p.kh + ky) * p.kw + kx;
  if (p.flip == 1u) {
    src = ((ic * p.ocn + oc) * p.kh + (p.kh - 1u - ky)) * p.kw + (p.kw - 1u - kx);
  }
  y[i] = w[src];`,
      )
    }`;
  });
}

/**
 * Direct convolution with a KH × KW kernel, PX output pixels × OB output channels per invocation,
 * adding a per-channel bias B (binding 4, read as vec4; a bias's buffer is padded by the pool's
 * size classes) when p.bias is 1 and applying ReLU when p.relu is 1; uniforms (n, c, h, w, o, outH,
 * outW, padTop, padLeft, tilesX, tilesO, bias, relu). The epilogue is switched by uniforms, not
 * baked into the text, so the forward pass of every layer and the input-gradient pass share one
 * pipeline: each big variant costs seconds of llvmpipe compile time on a cold shader cache.
 * With `weightTexture`, binding 2 is a texel binding of the weights instead of a storage buffer;
 * with `inputTexture` (vec4 rows only), binding 1 is one of the input.
 */
export function convDirectKernel(
  KH: number,
  KW: number,
  PX: number,
  OB: number,
  vecPadLeft: number | null = null,
  weightTexture = false,
  inputTexture = false,
  texelKind: TexelKind = "storage",
): Kernel {
  if (inputTexture && vecPadLeft === null) throw new Error("input texels need vec4 rows");
  const vecRows = vecPadLeft === null ? "" : `/vec4pad${vecPadLeft}`;
  const t = texelTag(texelKind);
  const tex = (weightTexture ? `/w${t}` : "") + (inputTexture ? `/x${t}` : "");
  return kernel(`conv2d.direct/${KH}x${KW}/px${PX}/ob${OB}${vecRows}${tex}`, () => {
    const L = PX + KW - 1;
    // With `vecPadLeft` (rows a multiple of 4 long, PX a multiple of 4, padLeft baked in), each
    // input row segment is read as aligned vec4s: on llvmpipe a storage load costs a bounds-checked
    // loop over the SIMD lanes per component, and a vec4 costs about 2.3× less per value than four
    // scalar loads (measured), which are this kernel's largest cost. A chunk lies wholly inside or
    // outside the row, so one test per chunk gives the zero padding.
    const vec = vecPadLeft !== null;
    const chunkMin = vec ? Math.floor(-vecPadLeft / 4) : 0;
    const chunkMax = vec ? Math.floor((L - 1 - vecPadLeft) / 4) : -1;
    const js = [...Array(PX).keys()];
    const hs = [...Array(OB / 4).keys()];
    const out: string[] = [];
    out.push(`  let total = p.n * p.outH * p.tilesX * p.tilesO;
  if (i >= total) { return; }
  let ot = i % p.tilesO;
  var t = i / p.tilesO;
  let xt = t % p.tilesX;
  t = t / p.tilesX;
  let oy = t % p.outH;
  let b = t / p.outH;
  let x0 = i32(xt * ${PX}u);
  let hw = p.h * p.w;`);
    if (vec) {
      for (let k = chunkMin; k <= chunkMax; k++) {
        const n = `${k < 0 ? "m" : ""}${Math.abs(k)}`;
        out.push(`  let kx${n} = x0 + ${4 * k};
  let kOk${n} = kx${n} >= 0 && kx${n} < i32(p.w);
  let kc${n} = u32(clamp(kx${n}, 0, i32(p.w) - 4)) / 4u;`);
      }
    } else {
      for (let s = 0; s < L; s++) {
        out.push(`  let ix${s} = x0 + ${s} - p.padLeft;
  let cOk${s} = ix${s} >= 0 && ix${s} < i32(p.w);
  let cx${s} = u32(clamp(ix${s}, 0, i32(p.w) - 1));`);
      }
    }
    for (const j of js) for (const h of hs) out.push(`  var acc${j}_${h} = vec4f(0.0);`);
    out.push(`  var xBase = b * p.c * hw;
  var wIdx = ot * p.c * ${KH * KW * OB / 4}u;
  for (var ic = 0u; ic < p.c; ic++) {`);
    // Per input channel: load the KH input rows and all KH·KW weight vectors first, then update
    // each accumulator once with its KH·KW terms (same summation order as tap by tap), so every
    // accumulator is loaded and stored once per channel instead of once per tap (~20% faster on
    // llvmpipe, where most of the accumulators live on the stack).
    for (let ky = 0; ky < KH; ky++) {
      out.push(`    let iy${ky} = i32(oy) + ${ky} - p.padTop;
    let rOk${ky} = iy${ky} >= 0 && iy${ky} < i32(p.h);
    let rowOff${ky} = xBase + u32(clamp(iy${ky}, 0, i32(p.h) - 1)) * p.w;`);
      if (vec) {
        for (let k = chunkMin; k <= chunkMax; k++) {
          const n = `${k < 0 ? "m" : ""}${Math.abs(k)}`;
          const at = `rowOff${ky} / 4u + kc${n}`;
          const load = inputTexture ? texelAt("X", at, texelKind) : `X[${at}]`;
          out.push(
            `    let v${ky}_${n} = select(vec4f(0.0), ${load}, rOk${ky} && kOk${n});`,
          );
        }
        for (let t = 0; t < L; t++) {
          const pos = t - vecPadLeft!, k = Math.floor(pos / 4);
          out.push(
            `    let r${ky}_${t} = v${ky}_${k < 0 ? "m" : ""}${Math.abs(k)}[${pos - 4 * k}];`,
          );
        }
      } else {
        for (let t = 0; t < L; t++) {
          out.push(
            `    let r${ky}_${t} = select(0.0, X[rowOff${ky} + cx${t}], rOk${ky} && cOk${t});`,
          );
        }
      }
    }
    for (let ky = 0; ky < KH; ky++) {
      for (let kx = 0; kx < KW; kx++) {
        for (const h of hs) {
          const t = `wIdx + ${(ky * KW + kx) * OB / 4 + h}u`;
          const load = weightTexture ? texelAt("W", t, texelKind) : `W[${t}]`;
          out.push(`    let w${ky}_${kx}_${h} = ${load};`);
        }
      }
    }
    out.push(`    wIdx += ${KH * KW * OB / 4}u;`);
    for (const j of js) {
      for (const h of hs) {
        let sum = `acc${j}_${h}`;
        for (let ky = 0; ky < KH; ky++) {
          for (let kx = 0; kx < KW; kx++) sum = `(${sum} + r${ky}_${j + kx} * w${ky}_${kx}_${h})`;
        }
        out.push(`    acc${j}_${h} = ${sum};`);
      }
    }
    out.push(`    xBase += hw;
  }
  let ohw = p.outH * p.outW;
  let yBase = (b * p.o + ot * ${OB}u) * ohw + oy * p.outW + u32(x0);`);
    // The fused epilogue (bias, then ReLU) costs nothing next to the C·KH·KW terms per value and
    // saves the separate bias and activation passes over the whole output. It is switched by
    // uniforms (so forward and input-gradient passes share one pipeline) and kept branch-free on
    // whole vec4 accumulators: per-value branches made llvmpipe's compile 3× slower (~14 s).
    for (const h of hs) {
      out.push(`  let bias${h} = select(vec4f(0.0), B[ot * ${OB / 4}u + ${h}u], p.bias == 1u);`);
    }
    out.push("  let relu = p.relu == 1u;");
    for (const j of js) {
      for (const h of hs) {
        const a = `acc${j}_${h}`;
        out.push(`  ${a} += bias${h};
  ${a} = select(${a}, select(vec4f(0.0), ${a}, ${a} > vec4f(0.0)), relu);`);
      }
    }
    for (const j of js) {
      out.push(`  if (u32(x0) + ${j}u < p.outW) {`);
      for (let q = 0; q < OB; q++) {
        const v = `acc${j}_${q >> 2}[${q % 4}]`;
        out.push(`    if (ot * ${OB}u + ${q}u < p.o) { Y[yBase + ${q}u * ohw + ${j}u] = ${v}; }`);
      }
      out.push("  }");
    }
    return `struct P { n: u32, c: u32, h: u32, w: u32, o: u32, outH: u32, outW: u32, padTop: i32,
  padLeft: i32, tilesX: u32, tilesO: u32, bias: u32, relu: u32 }
${UNIFORM_P}${inputTexture ? texelBuf(1, "X", texelKind) : readBuf(1, "X", vec ? "vec4f" : "f32")}${
      weightTexture ? texelBuf(2, "W", texelKind) : readBuf(2, "W", "vec4f")
    }${writeBuf(3, "Y")}${readBuf(4, "B", "vec4f")}
${flatMain(out.join("\n"))}`;
  });
}
