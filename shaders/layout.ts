/**
 * Layout kernels: permute (transpose), pad/crop and the 2-D circular shift. Each is a gather:
 * one grid item per output element computes where its value comes from, so writes are
 * contiguous and no two invocations touch the same output.
 */
import {
  at,
  DECODE_BHWC,
  gridMain,
  type Kernel,
  kernel,
  readBuf,
  UDIV_FNS,
  UNIFORM_P,
  writeBuf,
} from "./common.ts";

/**
 * Strided gather: y[i] = x[Σ_d c_d·stride_d] where c is the coordinate of i in `shape`;
 * the backend passes the input strides permuted into output axis order.
 */
export function permuteKernel(): Kernel {
  return kernel("permute", () => {
    return `struct P { n: u32, rank: u32, pad0: u32, pad1: u32,
  shape: array<vec4u, 2>, stride: array<vec4u, 2> }
${UNIFORM_P}${UDIV_FNS}${readBuf(1, "x")}${writeBuf(2, "y")}
${
      gridMain(
        "p.n",
        `  var rem = i;
  var src = 0u;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let du = u32(d);
    let s = ${at("p.shape", "du")};
    let q = udiv(rem, s);
    src += (rem - q * s) * ${at("p.stride", "du")};
    rem = q;
  }
  y[i] = x[src];`,
      )
    }`;
  });
}

/**
 * Pad/crop: y[c] = x[c - before] inside the input, else 0 (`before` may be negative). With
 * `vec4`, elements are groups of 4 along the last axis (the backend divides that axis's size and
 * padding by 4 when all are multiples of 4): a quarter of the index arithmetic and loads.
 */
export function padKernel(vec4 = false): Kernel {
  return kernel(`pad${vec4 ? "/vec4" : ""}`, () => {
    const t = vec4 ? "vec4f" : "f32";
    return `struct P { n: u32, rank: u32, pad0: u32, pad1: u32, shape: array<vec4u, 2>,
  inShape: array<vec4u, 2>, inStride: array<vec4u, 2>, before: array<vec4i, 2> }
${UNIFORM_P}${UDIV_FNS}${readBuf(1, "x", t)}${writeBuf(2, "y", t)}
${
      gridMain(
        "p.n",
        `  var rem = i;
  var src = 0u;
  var inside = true;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let du = u32(d);
    let s = ${at("p.shape", "du")};
    let q = udiv(rem, s);
    let c = i32(rem - q * s) - ${at("p.before", "du")};
    rem = q;
    inside = inside && c >= 0 && c < i32(${at("p.inShape", "du")});
    src += u32(clamp(c, 0, i32(${at("p.inShape", "du")}) - 1)) * ${at("p.inStride", "du")};
  }
  y[i] = select(${t}(0.0), x[src], inside);`,
      )
    }`;
  });
}

/** Circular shift of (batch, h, w, inner): y[(y+sy) mod h, (x+sx) mod w] = x[y, x]. */
export function roll2dKernel(): Kernel {
  return kernel("roll2d", () => {
    return `struct P { n: u32, h: u32, w: u32, inner: u32, sy: u32, sx: u32 }
${UNIFORM_P}${UDIV_FNS}${readBuf(1, "x")}${writeBuf(2, "y")}
${
      gridMain(
        "p.n",
        `${DECODE_BHWC}
  let sxx = (ox + p.w - p.sx) % p.w;
  let syy = (oy + p.h - p.sy) % p.h;
  y[i] = x[((b * p.h + syy) * p.w + sxx) * p.inner + c];`,
      )
    }`;
  });
}

/**
 * Split axis 1 of (outer, channels, plane) at `first`: a = channels [0, first), b = the rest,
 * in one pass; uniforms (n, channels, plane, first) with plane and n counted in `vec4` groups
 * when `vec4`.
 */
export function splitChannelsKernel(vec4 = false): Kernel {
  return kernel(`split/channels${vec4 ? "/vec4" : ""}`, () => {
    const t = vec4 ? "vec4f" : "f32";
    return `struct P { n: u32, channels: u32, plane: u32, first: u32 }
${UNIFORM_P}${UDIV_FNS}${readBuf(1, "x", t)}${writeBuf(2, "a", t)}${writeBuf(3, "b", t)}
${
      gridMain(
        "p.n",
        `  let per = p.channels * p.plane;
  let o = udiv(i, per);
  let r = i - o * per;
  let ch = udiv(r, p.plane);
  let pix = r - ch * p.plane;
  if (ch < p.first) {
    a[(o * p.first + ch) * p.plane + pix] = x[i];
  } else {
    b[(o * (p.channels - p.first) + ch - p.first) * p.plane + pix] = x[i];
  }`,
      )
    }`;
  });
}
