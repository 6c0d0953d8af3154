/**
 * Nearest 2× upsampling and its adjoint (sum of each 2×2 block), one grid item per output
 * element (gathers, so the adjoint needs no atomics).
 */
import { gridMain, type Kernel, kernel, readBuf, UDIV_FNS, UNIFORM_P, writeBuf } from "./common.ts";

/** (planes, h, w) → (planes, 2h, 2w); uniforms (planes, h, w). */
export function upsample2xKernel(): Kernel {
  return kernel("upsample2x", () => {
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
  });
}

/**
 * (planes, 2h, 2w) → (planes, h, w) summing each block; uniforms (planes, h, w, masked). With
 * masked = 1, outputs where m (binding 3, (planes, h, w), a ReLU output) is not above 0 are 0:
 * the ReLU's gradient applied in the same pass.
 */
export function sumPool2x2Kernel(): Kernel {
  return kernel("sumPool2x2", () => {
    return `struct P { planes: u32, h: u32, w: u32, masked: u32 }
${UNIFORM_P}${UDIV_FNS}${readBuf(1, "x")}${writeBuf(2, "y")}${readBuf(3, "m")}
${
      gridMain(
        "p.planes * p.h * p.w",
        `  let xx = umod(i, p.w);
  let t = udiv(i, p.w);
  let yy = umod(t, p.h);
  let plane = udiv(t, p.h);
  let w2 = 2u * p.w;
  let j = (plane * 2u * p.h + 2u * yy) * w2 + 2u * xx;
  var s = (x[j] + x[j + 1u]) + (x[j + w2] + x[j + w2 + 1u]);
  if (p.masked == 1u) { s = select(0.0, s, m[i] > 0.0); }
  y[i] = s;`,
      )
    }`;
  });
}

/**
 * {@link upsample2xKernel} for even widths, one output vec4 per item (two input values, each
 * twice): a quarter of the items and whole-vector loads and stores (on llvmpipe every access
 * is a per-lane loop, so wider accesses are cheaper per value).
 */
export function upsample2xVecKernel(): Kernel {
  return kernel("upsample2x.vec", () => {
    return `struct P { planes: u32, h: u32, w: u32 }
${UNIFORM_P}${UDIV_FNS}${readBuf(1, "x", "vec2f")}${writeBuf(2, "y", "vec4f")}
${
      gridMain(
        "p.planes * p.h * p.w",
        `  let half = p.w / 2u;
  let q = umod(i, half);
  let t = udiv(i, half);
  let yy = umod(t, 2u * p.h);
  let plane = udiv(t, 2u * p.h);
  let a = x[(plane * p.h + yy / 2u) * half + q];
  y[i] = vec4f(a.x, a.x, a.y, a.y);`,
      )
    }`;
  });
}

/**
 * {@link sumPool2x2Kernel} for even output widths: two outputs per item from one vec4 of each of
 * the two input rows, summed in the same order as the scalar kernel (same mask).
 */
export function sumPool2x2VecKernel(): Kernel {
  return kernel("sumPool2x2.vec", () => {
    return `struct P { planes: u32, h: u32, w: u32, masked: u32 }
${UNIFORM_P}${UDIV_FNS}${readBuf(1, "x", "vec4f")}${writeBuf(2, "y", "vec2f")}${
      readBuf(3, "m", "vec2f")
    }
${
      gridMain(
        "p.planes * p.h * (p.w / 2u)",
        `  let half = p.w / 2u;
  let q = umod(i, half);
  let t = udiv(i, half);
  let yy = umod(t, p.h);
  let plane = udiv(t, p.h);
  let r0 = x[(plane * 2u * p.h + 2u * yy) * half + q];
  let r1 = x[(plane * 2u * p.h + 2u * yy + 1u) * half + q];
  var s = vec2f((r0.x + r0.y) + (r1.x + r1.y), (r0.z + r0.w) + (r1.z + r1.w));
  if (p.masked == 1u) { s = select(vec2f(0.0), s, m[i] > vec2f(0.0)); }
  y[i] = s;`,
      )
    }`;
  });
}
