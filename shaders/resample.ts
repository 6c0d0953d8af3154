/**
 * Nearest 2× upsampling and its adjoint (sum of each 2×2 block), one grid item per output
 * element (gathers, so the adjoint needs no atomics).
 */
import { gridMain, readBuf, UDIV_FNS, UNIFORM_P, writeBuf } from "./common.ts";

/** (planes, h, w) → (planes, 2h, 2w); uniforms (planes, h, w). */
export function upsample2xWgsl(): string {
  return `struct P { planes: u32, h: u32, w: u32 }
${UNIFORM_P}${UDIV_FNS}${readBuf(1, "x")}${writeBuf(2, "y")}
${
    gridMain(
      "p.planes * 4u * p.h * p.w",
      `  let w2 = 2u * p.w;
  let h2 = 2u * p.h;
  let xx = umod(i, w2);
  let t = udiv(i, w2);
  let yy = umod(t, h2);
  let plane = udiv(t, h2);
  y[i] = x[(plane * p.h + yy / 2u) * p.w + xx / 2u];`,
    )
  }`;
}

/** (planes, 2h, 2w) → (planes, h, w) summing each block; uniforms (planes, h, w). */
export function sumPool2x2Wgsl(): string {
  return `struct P { planes: u32, h: u32, w: u32 }
${UNIFORM_P}${UDIV_FNS}${readBuf(1, "x")}${writeBuf(2, "y")}
${
    gridMain(
      "p.planes * p.h * p.w",
      `  let xx = umod(i, p.w);
  let t = udiv(i, p.w);
  let yy = umod(t, p.h);
  let plane = udiv(t, p.h);
  let w2 = 2u * p.w;
  let j = (plane * 2u * p.h + 2u * yy) * w2 + 2u * xx;
  y[i] = (x[j] + x[j + 1u]) + (x[j + w2] + x[j + w2 + 1u]);`,
    )
  }`;
}
