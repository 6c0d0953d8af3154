/**
 * Windows of a canvas at integer corners (crop) and its adjoint (scatter-add). Both are gathers,
 * so no float atomics: the crop reads one canvas value per output; the scatter-add gives each
 * canvas pixel one invocation that sums the values of the windows covering it in batch order,
 * which makes the result independent of scheduling (bit-reproducible). A first pass lists, per
 * 16 × 16 tile of the canvas, the windows that overlap it, so each pixel visits only those.
 * Corners are f32 (row, column) pairs, floored here. Channels per pixel: 1 (real) or 2 (complex).
 */
import { gridMain, type Kernel, kernel, readBuf, UDIV_FNS, UNIFORM_P, writeBuf } from "./common.ts";

function channelType(inner: 1 | 2): string {
  return inner === 2 ? "vec2f" : "f32";
}

/** Crop: out (batch, n, n, inner) from canvas (h, w, inner); uniforms (count, n, h, w). */
export function cropPatchesKernel(inner: 1 | 2): Kernel {
  const t = channelType(inner);
  return kernel(`patches.crop/${t}`, () =>
    `struct P { count: u32, n: u32, h: u32, w: u32 }
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
    }`);
}

/** Side of the square canvas tiles the scatter-add bins windows by. */
export const PATCH_TILE = 16;

/**
 * Scatter-add, pass 1: for every TILE × TILE canvas tile, the windows that overlap it, in batch
 * order: bins[t·(batch + 1)] = count, then the window indices. Uniforms (tiles, tilesX, n, batch).
 */
export function patchTileListKernel(): Kernel {
  return kernel("patches.tileList", () =>
    `struct P { tiles: u32, tilesX: u32, n: u32, batch: u32 }
${UNIFORM_P}${UDIV_FNS}${readBuf(1, "corners", "vec2f")}${writeBuf(2, "bins", "u32")}
${
      gridMain(
        "p.tiles",
        `  let y0 = i32(udiv(i, p.tilesX) * ${PATCH_TILE}u);
  let x0 = i32(umod(i, p.tilesX) * ${PATCH_TILE}u);
  let n = i32(p.n);
  let base = i * (p.batch + 1u);
  var count = 0u;
  for (var b = 0u; b < p.batch; b++) {
    let corner = corners[b];
    let r = i32(floor(corner.x));
    let c = i32(floor(corner.y));
    if (r < y0 + ${PATCH_TILE} && r + n > y0 && c < x0 + ${PATCH_TILE} && c + n > x0) {
      bins[base + 1u + count] = b;
      count++;
    }
  }
  bins[base] = count;`,
      )
    }`);
}

/**
 * Scatter-add, pass 2: canvas (h, w, inner) from patches (batch, n, n, inner), each pixel summing
 * the windows of its tile's list (pass 1) in batch order; uniforms (count, n, w, batch, tilesX).
 */
export function scatterAddPatchesKernel(inner: 1 | 2): Kernel {
  const t = channelType(inner);
  return kernel(
    `patches.scatterAdd/${t}`,
    () =>
      `struct P { count: u32, n: u32, w: u32, batch: u32, tilesX: u32 }
${UNIFORM_P}${UDIV_FNS}${readBuf(1, "patches", t)}${readBuf(2, "corners", "vec2f")}${
        readBuf(3, "bins", "u32")
      }${writeBuf(4, "y", t)}
${
        gridMain(
          "p.count",
          `  let xu = umod(i, p.w);
  let yu = udiv(i, p.w);
  let xx = i32(xu);
  let yy = i32(yu);
  let n = i32(p.n);
  let base = ((yu / ${PATCH_TILE}u) * p.tilesX + xu / ${PATCH_TILE}u) * (p.batch + 1u);
  let hits = bins[base];
  var acc = ${t}(0.0);
  for (var k = 0u; k < hits; k++) {
    let b = bins[base + 1u + k];
    let corner = corners[b];
    let dy = yy - i32(floor(corner.x));
    let dx = xx - i32(floor(corner.y));
    if (dy >= 0 && dy < n && dx >= 0 && dx < n) {
      acc += patches[(b * p.n + u32(dy)) * p.n + u32(dx)];
    }
  }
  y[i] = acc;`,
        )
      }`,
  );
}
