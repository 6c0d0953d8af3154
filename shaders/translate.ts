/**
 * Bilinear translation of each image of (batch, h, w, inner) by its own offset (tx, ty), and
 * the adjoint map. Within one image every pixel has the same corner fractions, so both are
 * gathers: out[y, x] reads the four corners (y + ⌊−ty⌋ + {0,1}, x + ⌊−tx⌋ + {0,1}), and the
 * adjoint at (y, x) reads the four outputs that used pixel (y, x) as a corner. No atomics.
 * Computing the floor of −t once (instead of ⌊y − t⌋ per pixel) keeps the fraction exact in f32.
 */
import {
  DECODE_BHWC,
  gridMain,
  type Kernel,
  kernel,
  readBuf,
  UDIV_FNS,
  UNIFORM_P,
  writeBuf,
} from "./common.ts";

/** Forward (`adjoint` false) or adjoint translate; uniforms (n, h, w, inner). */
export function translateKernel(adjoint: boolean): Kernel {
  return kernel(`translate${adjoint ? "/adjoint" : ""}`, () => {
    const sgn = adjoint ? "-" : "+";
    return `struct P { n: u32, h: u32, w: u32, inner: u32 }
${UNIFORM_P}${UDIV_FNS}${readBuf(1, "x")}${readBuf(2, "off")}${writeBuf(3, "y")}
fn sample(b: u32, yy: i32, xx: i32, c: u32) -> f32 {
  if (yy < 0 || yy >= i32(p.h) || xx < 0 || xx >= i32(p.w)) { return 0.0; }
  return x[((b * p.h + u32(yy)) * p.w + u32(xx)) * p.inner + c];
}
${
      gridMain(
        "p.n",
        `${DECODE_BHWC}
  let tx = off[2u * b];
  let ty = off[2u * b + 1u];
  let flx = floor(-tx);
  let fly = floor(-ty);
  let fx = -tx - flx;
  let fy = -ty - fly;
  // Corner (dy, dx) of the forward map sits at (y + fly + dy, x + flx + dx).
  let y0 = i32(oy) ${sgn} i32(fly);
  let x0 = i32(ox) ${sgn} i32(flx);
  let s00 = sample(b, y0, x0, c);
  let s01 = sample(b, y0, x0 ${sgn} 1, c);
  let s10 = sample(b, y0 ${sgn} 1, x0, c);
  let s11 = sample(b, y0 ${sgn} 1, x0 ${sgn} 1, c);
  y[i] = (1.0 - fy) * ((1.0 - fx) * s00 + fx * s01) + fy * ((1.0 - fx) * s10 + fx * s11);`,
      )
    }`;
  });
}
