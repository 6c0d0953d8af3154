/**
 * Windows of a canvas at integer corners (crop) and its adjoint (scatter-add). Both are gathers,
 * so no float atomics: the crop reads one canvas value per output; the scatter-add gives each
 * canvas pixel one invocation that walks the batch's windows in order and sums the values of
 * those that cover it, which makes the result independent of scheduling (bit-reproducible).
 * Corners are f32 (row, column) pairs, floored here. Channels per pixel: 1 (real) or 2 (complex).
 */
import { gridMain, readBuf, UDIV_FNS, UNIFORM_P, writeBuf } from "./common.ts";

function channelType(inner: 1 | 2): string {
  return inner === 2 ? "vec2f" : "f32";
}

/** Crop: out (batch, n, n, inner) from canvas (h, w, inner); uniforms (count, n, h, w). */
export function cropPatchesWgsl(inner: 1 | 2): string {
  const t = channelType(inner);
  return `struct P { count: u32, n: u32, h: u32, w: u32 }
${UNIFORM_P}${UDIV_FNS}${readBuf(1, "canvas", t)}${readBuf(2, "corners", "vec2f")}${
    writeBuf(3, "y", t)
  }
${
    gridMain(
      "p.count",
      `  let j = umod(i, p.n);
  let t = udiv(i, p.n);
  let row = umod(t, p.n);
  let b = udiv(t, p.n);
  let corner = corners[b];
  let yy = i32(floor(corner.x)) + i32(row);
  let xx = i32(floor(corner.y)) + i32(j);
  if (yy < 0 || yy >= i32(p.h) || xx < 0 || xx >= i32(p.w)) {
    y[i] = ${t}(0.0);
    return;
  }
  y[i] = canvas[u32(yy) * p.w + u32(xx)];`,
    )
  }`;
}

/** Scatter-add: canvas (h, w, inner) from patches (batch, n, n, inner); uniforms (count, n, w, batch). */
export function scatterAddPatchesWgsl(inner: 1 | 2): string {
  const t = channelType(inner);
  return `struct P { count: u32, n: u32, w: u32, batch: u32 }
${UNIFORM_P}${UDIV_FNS}${readBuf(1, "patches", t)}${readBuf(2, "corners", "vec2f")}${
    writeBuf(3, "y", t)
  }
${
    gridMain(
      "p.count",
      `  let xx = i32(umod(i, p.w));
  let yy = i32(udiv(i, p.w));
  let n = i32(p.n);
  var acc = ${t}(0.0);
  for (var b = 0u; b < p.batch; b++) {
    let corner = corners[b];
    let dy = yy - i32(floor(corner.x));
    let dx = xx - i32(floor(corner.y));
    if (dy >= 0 && dy < n && dx >= 0 && dx < n) {
      acc += patches[(b * p.n + u32(dy)) * p.n + u32(dx)];
    }
  }
  y[i] = acc;`,
    )
  }`;
}
