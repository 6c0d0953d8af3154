/**
 * 2×2 max pool, stride 2, TF "same" padding (windows past the edge use only the pixels inside),
 * and its gradient. The gradient is a gather: each input pixel recomputes its window's first
 * maximum (row-major) and takes dy if it is that pixel, so no two invocations write one value.
 */
import { gridMain, type Kernel, kernel, readBuf, UDIV_FNS, UNIFORM_P, writeBuf } from "./common.ts";

/** Uniforms (planes, h, w, oh, ow, masked); `masked` (gradients only): x is a ReLU output. */
const POOL_P = UDIV_FNS +
  "struct P { planes: u32, h: u32, w: u32, oh: u32, ow: u32, masked: u32 }\n";

/** WGSL: index of the first maximum of the window (oy, ox) of `plane`, as a flat input index. */
const ARGMAX_FN = `fn window_argmax(plane: u32, oy: u32, ox: u32) -> u32 {
  let base = plane * p.h * p.w;
  var best = base + 2u * oy * p.w + 2u * ox;
  var bestV = x[best];
  for (var dy = 0u; dy < 2u; dy++) {
    for (var dx = 0u; dx < 2u; dx++) {
      let yy = 2u * oy + dy;
      let xx = 2u * ox + dx;
      if (yy < p.h && xx < p.w) {
        let j = base + yy * p.w + xx;
        let v = x[j];
        if (v > bestV) { best = j; bestV = v; }
      }
    }
  }
  return best;
}
`;

/** Max pool forward: y (planes, oh, ow); uniforms (planes, h, w, oh, ow). */
export function maxPoolKernel(): Kernel {
  return kernel("maxPool2d", () => {
    return `${POOL_P}${UNIFORM_P}${readBuf(1, "x")}${writeBuf(2, "y")}${ARGMAX_FN}
${
      gridMain(
        "p.planes * p.oh * p.ow",
        `  let ox = umod(i, p.ow);
  let t = udiv(i, p.ow);
  let plane = udiv(t, p.oh);
  y[i] = x[window_argmax(plane, t - plane * p.oh, ox)];`,
      )
    }`;
  });
}

/**
 * Max pool gradient: dx (planes, h, w) from x and dy (planes, oh, ow); with p.masked = 1 also the
 * gradient of the ReLU that made x: dy goes only to maxima above 0.
 */
export function maxPoolGradKernel(): Kernel {
  return kernel("maxPool2d.grad", () => {
    return `${POOL_P}${UNIFORM_P}${readBuf(1, "x")}${readBuf(2, "dy")}${
      writeBuf(3, "dx")
    }${ARGMAX_FN}
${
      gridMain(
        "p.planes * p.h * p.w",
        `  let xx = umod(i, p.w);
  let t = udiv(i, p.w);
  let yy = umod(t, p.h);
  let plane = udiv(t, p.h);
  let oy = yy / 2u;
  let ox = xx / 2u;
  let hit = window_argmax(plane, oy, ox) == i && (p.masked == 0u || x[i] > 0.0);
  dx[i] = select(0.0, dy[(plane * p.oh + oy) * p.ow + ox], hit);`,
      )
    }`;
  });
}

/**
 * WGSL: the row-major position (0..3) of the first maximum of a 2×2 window given as its values
 * in row-major order, with the scalar kernels' comparisons (strictly greater replaces).
 */
const ARGMAX4_FN = `fn argmax4(a: f32, b: f32, c: f32, d: f32) -> u32 {
  var k = 0u;
  var m = a;
  if (b > m) { k = 1u; m = b; }
  if (c > m) { k = 2u; m = c; }
  if (d > m) { k = 3u; }
  return k;
}
fn pick4(a: f32, b: f32, c: f32, d: f32, k: u32) -> f32 {
  return select(select(select(a, b, k == 1u), c, k == 2u), d, k == 3u);
}
`;

/** Index decoding shared by the vec kernels: item = two windows (plane, oy, pair q). */
const PAIR_ITEM = `  let quads = p.w / 4u;
  let q = umod(i, quads);
  let t = udiv(i, quads);
  let oy = umod(t, p.oh);
  let plane = udiv(t, p.oh);
  let row0 = (plane * p.h + 2u * oy) * quads + q;
  let r0 = x[row0];
  let r1 = x[row0 + quads];
  let k0 = argmax4(r0.x, r0.y, r1.x, r1.y);
  let k1 = argmax4(r0.z, r0.w, r1.z, r1.w);`;

/**
 * {@link maxPoolKernel} for even heights and widths a multiple of 4 (no edge windows): two
 * windows per item, read as one vec4 from each input row, written as a vec2.
 */
export function maxPoolVecKernel(): Kernel {
  return kernel("maxPool2d.vec", () => {
    return `${POOL_P}${UNIFORM_P}${readBuf(1, "x", "vec4f")}${
      writeBuf(2, "y", "vec2f")
    }${ARGMAX4_FN}
${
      gridMain(
        "p.planes * p.oh * (p.w / 4u)",
        `${PAIR_ITEM}
  y[i] = vec2f(pick4(r0.x, r0.y, r1.x, r1.y, k0), pick4(r0.z, r0.w, r1.z, r1.w, k1));`,
      )
    }`;
  });
}

/**
 * {@link maxPoolGradKernel} for the shapes of {@link maxPoolVecKernel}: two windows per item
 * (with p.masked, each window's dy kept only where its maximum is above 0).
 */
export function maxPoolGradVecKernel(): Kernel {
  return kernel("maxPool2d.grad.vec", () => {
    return `${POOL_P}${UNIFORM_P}${readBuf(1, "x", "vec4f")}${readBuf(2, "dy", "vec2f")}${
      writeBuf(3, "dx", "vec4f")
    }${ARGMAX4_FN}
${
      gridMain(
        "p.planes * p.oh * (p.w / 4u)",
        `${PAIR_ITEM}
  let z = 0.0;
  let masked = p.masked == 1u;
  let keep0 = !masked || pick4(r0.x, r0.y, r1.x, r1.y, k0) > 0.0;
  let keep1 = !masked || pick4(r0.z, r0.w, r1.z, r1.w, k1) > 0.0;
  let d = select(vec2f(0.0), dy[i], vec2<bool>(keep0, keep1));
  dx[row0] = vec4f(select(z, d.x, k0 == 0u), select(z, d.x, k0 == 1u),
                   select(z, d.y, k1 == 0u), select(z, d.y, k1 == 1u));
  dx[row0 + quads] = vec4f(select(z, d.x, k0 == 2u), select(z, d.x, k0 == 3u),
                           select(z, d.y, k1 == 2u), select(z, d.y, k1 == 3u));`,
      )
    }`;
  });
}
