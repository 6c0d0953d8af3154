/**
 * 2×2 max pool, stride 2, TF "same" padding (windows past the edge use only the pixels inside),
 * and its gradient. The gradient is a gather: each input pixel recomputes its window's first
 * maximum (row-major) and takes dy if it is that pixel, so no two invocations write one value.
 */
import { gridMain, readBuf, UDIV_FNS, UNIFORM_P, writeBuf } from "./common.ts";

const POOL_P = UDIV_FNS + "struct P { planes: u32, h: u32, w: u32, oh: u32, ow: u32 }\n";

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
export function maxPoolWgsl(): string {
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
}

/** Max pool gradient: dx (planes, h, w) from x and dy (planes, oh, ow). */
export function maxPoolGradWgsl(): string {
  return `${POOL_P}${UNIFORM_P}${readBuf(1, "x")}${readBuf(2, "dy")}${writeBuf(3, "dx")}${ARGMAX_FN}
${
    gridMain(
      "p.planes * p.h * p.w",
      `  let xx = umod(i, p.w);
  let t = udiv(i, p.w);
  let yy = umod(t, p.h);
  let plane = udiv(t, p.h);
  let oy = yy / 2u;
  let ox = xx / 2u;
  let hit = window_argmax(plane, oy, ox) == i;
  dx[i] = select(0.0, dy[(plane * p.oh + oy) * p.ow + ox], hit);`,
    )
  }`;
}
