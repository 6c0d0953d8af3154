/**
 * The merge weights of model/physics.ts `mergePatches` in one kernel: per canvas pixel of each
 * group, the c window masks bilinearly translated by their shifts (the translate kernel's
 * corner arithmetic, with the box indicator as the image) and the inverse of their sum where it
 * exceeds the floor. One grid item per (group, row, column), walking the c members in order.
 */
import { gridMain, type Kernel, kernel, readBuf, UDIV_FNS, UNIFORM_P, writeBuf } from "./common.ts";

/**
 * WGSL: decode canvas item i (uniforms m) into its group b, row oy, column ox and its pixel index
 * within the m × m plane.
 */
export const DECODE_CANVAS = `  let plane = p.m * p.m;
  let b = udiv(i, plane);
  let pix = i - b * plane;
  let oy = udiv(pix, p.m);
  let ox = pix - oy * p.m;`;

/**
 * Uniforms (batch, c, m, lo, side, floor); shift (batch·c, 2) = (tx, ty); outputs masks
 * (batch·c, m, m) and inverse (batch, m, m).
 */
export function mergeWeightsKernel(): Kernel {
  return kernel("merge.weights", () => {
    return `struct P { batch: u32, c: u32, m: u32, lo: u32, side: u32, floor: f32 }
${UNIFORM_P}${UDIV_FNS}${readBuf(1, "shift")}${writeBuf(2, "masks")}${writeBuf(3, "inverse")}
fn inside(yy: i32, xx: i32) -> f32 {
  let lo = i32(p.lo);
  let hi = lo + i32(p.side);
  return select(0.0, 1.0, yy >= lo && yy < hi && xx >= lo && xx < hi);
}
${
      gridMain(
        "p.batch * p.m * p.m",
        `${DECODE_CANVAS}
  var weight = 0.0;
  for (var k = 0u; k < p.c; k++) {
    let img = b * p.c + k;
    let tx = shift[2u * img];
    let ty = shift[2u * img + 1u];
    let flx = floor(-tx);
    let fly = floor(-ty);
    let fx = -tx - flx;
    let fy = -ty - fly;
    let y0 = i32(oy) + i32(fly);
    let x0 = i32(ox) + i32(flx);
    let v = (1.0 - fy) * ((1.0 - fx) * inside(y0, x0) + fx * inside(y0, x0 + 1)) +
      fy * ((1.0 - fx) * inside(y0 + 1, x0) + fx * inside(y0 + 1, x0 + 1));
    masks[img * plane + pix] = v;
    weight += v;
  }
  let covered = select(0.0, 1.0, weight > p.floor);
  inverse[i] = covered / (weight + (-1.0 * covered + 1.0));`,
      )
    }`;
  });
}
