/**
 * The merge of a group's patches onto its canvas and the probe-illuminated re-extraction of
 * model/physics.ts, each with its adjoint, one gather kernel apiece (no atomics). Each replaces
 * the op chain pad → translate → ×mask → Σ group → ×inverse weight, resp. expand → translate →
 * crop → ×probe, with the translate kernel's corner arithmetic (shaders/translate.ts): per image
 * the floor of −t once, so every pixel shares the fractions.
 *
 * Uniforms (batch, c, n, m, lo): groups, members, patch side, canvas side, and the first canvas
 * row and column of the central patch window. Complex values are interleaved (re, im).
 */
import { gridMain, type Kernel, kernel, readBuf, UDIV_FNS, UNIFORM_P, writeBuf } from "./common.ts";
import { DECODE_CANVAS } from "./merge.ts";

const HEADER = `struct P { batch: u32, c: u32, n: u32, m: u32, lo: u32 }
${UNIFORM_P}${UDIV_FNS}`;

/**
 * The member's shift: floor of −t and the fractions, as the translate kernel derives them.
 * Needs `img` and a `shift` buffer.
 */
const FRACTIONS = `    let tx = shift[2u * img];
    let ty = shift[2u * img + 1u];
    let flx = floor(-tx);
    let fly = floor(-ty);
    let fx = -tx - flx;
    let fy = -ty - fly;`;

/** The bilinear blend of corners s00, s01, s10, s11 (translate's expression, on vec2f). */
const BLEND = "(1.0 - fy) * ((1.0 - fx) * s00 + fx * s01) + fy * ((1.0 - fx) * s10 + fx * s11)";

/**
 * WGSL lines sampling the four bilinear corners s00, s01, s10, s11 as `fetch(first, y, x)` from
 * (y0, x0): a forward gather steps +1 down and right, an adjoint gather −1.
 */
function corners(fetch: string, first: string, step: 1 | -1, indent: string): string {
  const d = step === 1 ? "+ 1" : "- 1";
  return [
    `let s00 = ${fetch}(${first}, y0, x0);`,
    `let s01 = ${fetch}(${first}, y0, x0 ${d});`,
    `let s10 = ${fetch}(${first}, y0 ${d}, x0);`,
    `let s11 = ${fetch}(${first}, y0 ${d}, x0 ${d});`,
  ].map((l) => indent + l).join("\n");
}

/** Decode patch item i into (img, b, y, x) and its pixel index within the patch. */
const DECODE_PATCH = `  let area = p.n * p.n;
  let img = udiv(i, area);
  let b = udiv(img, p.c);
  let q = i - img * area;
  let y = udiv(q, p.n);
  let x = q - y * p.n;`;

/** Merge: patches, shift, masks, inverse → canvas (batch, m, m, 2). */
export function mergeCanvasKernel(): Kernel {
  return kernel(
    "overlap.merge",
    () =>
      `${HEADER}${readBuf(1, "patches")}${readBuf(2, "shift")}${readBuf(3, "masks")}${
        readBuf(4, "inverse")
      }${writeBuf(5, "out")}
// The member's patch padded onto the canvas, at canvas pixel (yy, xx).
fn padded(img: u32, yy: i32, xx: i32) -> vec2f {
  let py = yy - i32(p.lo);
  let px = xx - i32(p.lo);
  if (py < 0 || py >= i32(p.n) || px < 0 || px >= i32(p.n)) { return vec2f(0.0); }
  let k = 2u * ((img * p.n + u32(py)) * p.n + u32(px));
  return vec2f(patches[k], patches[k + 1u]);
}
${
        gridMain(
          "p.batch * p.m * p.m",
          `${DECODE_CANVAS}
  var acc = vec2f(0.0);
  for (var k = 0u; k < p.c; k++) {
    let img = b * p.c + k;
${FRACTIONS}
    let y0 = i32(oy) + i32(fly);
    let x0 = i32(ox) + i32(flx);
${corners("padded", "img", 1, "    ")}
    acc += (${BLEND}) * masks[img * plane + pix];
  }
  let v = acc * inverse[i];
  out[2u * i] = v.x;
  out[2u * i + 1u] = v.y;`,
        )
      }`,
  );
}

/** Adjoint of the merge: canvas gradient, shift, masks, inverse → (batch·c, n, n, 2). */
export function mergeCanvasAdjointKernel(): Kernel {
  return kernel(
    "overlap.merge/adjoint",
    () =>
      `${HEADER}${readBuf(1, "grad")}${readBuf(2, "shift")}${readBuf(3, "masks")}${
        readBuf(4, "inverse")
      }${writeBuf(5, "out")}
// The canvas gradient times the group's inverse weight and the member's mask at (yy, xx).
fn weighted(b: u32, img: u32, yy: i32, xx: i32) -> vec2f {
  if (yy < 0 || yy >= i32(p.m) || xx < 0 || xx >= i32(p.m)) { return vec2f(0.0); }
  let pix = u32(yy) * p.m + u32(xx);
  let cell = b * p.m * p.m + pix;
  return vec2f(grad[2u * cell], grad[2u * cell + 1u]) * inverse[cell] * masks[img * p.m * p.m + pix];
}
${
        gridMain(
          "p.batch * p.c * p.n * p.n",
          `${DECODE_PATCH}
${FRACTIONS}
  // The outputs that read canvas pixel (y + lo, x + lo) as a corner.
  let y0 = i32(y + p.lo) - i32(fly);
  let x0 = i32(x + p.lo) - i32(flx);
${corners("weighted", "b, img", -1, "  ")}
  let v = ${BLEND};
  out[2u * i] = v.x;
  out[2u * i + 1u] = v.y;`,
        )
      }`,
  );
}

/** Extract and illuminate: canvas, shift, probe → (batch·c, n, n, 2). */
export function extractIlluminateKernel(): Kernel {
  return kernel(
    "overlap.extract",
    () =>
      `${HEADER}${readBuf(1, "canvas")}${readBuf(2, "shift")}${readBuf(3, "probe")}${
        writeBuf(4, "out")
      }
fn canvasAt(b: u32, yy: i32, xx: i32) -> vec2f {
  if (yy < 0 || yy >= i32(p.m) || xx < 0 || xx >= i32(p.m)) { return vec2f(0.0); }
  let k = 2u * ((b * p.m + u32(yy)) * p.m + u32(xx));
  return vec2f(canvas[k], canvas[k + 1u]);
}
${
        gridMain(
          "p.batch * p.c * p.n * p.n",
          `${DECODE_PATCH}
${FRACTIONS}
  let y0 = i32(y + p.lo) + i32(fly);
  let x0 = i32(x + p.lo) + i32(flx);
${corners("canvasAt", "b", 1, "  ")}
  let v = ${BLEND};
  let pr = probe[2u * q];
  let pim = probe[2u * q + 1u];
  out[2u * i] = v.x * pr - v.y * pim;
  out[2u * i + 1u] = v.x * pim + v.y * pr;`,
        )
      }`,
  );
}

/** Adjoint of extract-and-illuminate: patch gradient, shift, probe → (batch, m, m, 2). */
export function extractIlluminateAdjointKernel(): Kernel {
  return kernel(
    "overlap.extract/adjoint",
    () =>
      `${HEADER}${readBuf(1, "grad")}${readBuf(2, "shift")}${readBuf(3, "probe")}${
        writeBuf(4, "out")
      }
// The member's gradient times the conjugate probe, padded onto the canvas, at (yy, xx).
fn exitGrad(img: u32, yy: i32, xx: i32) -> vec2f {
  let py = yy - i32(p.lo);
  let px = xx - i32(p.lo);
  if (py < 0 || py >= i32(p.n) || px < 0 || px >= i32(p.n)) { return vec2f(0.0); }
  let q = u32(py) * p.n + u32(px);
  let k = 2u * (img * p.n * p.n + q);
  let gr = grad[k];
  let gi = grad[k + 1u];
  let pr = probe[2u * q];
  let pim = -probe[2u * q + 1u];
  return vec2f(gr * pr - gi * pim, gr * pim + gi * pr);
}
${
        gridMain(
          "p.batch * p.m * p.m",
          `${DECODE_CANVAS}
  var acc = vec2f(0.0);
  for (var k = 0u; k < p.c; k++) {
    let img = b * p.c + k;
${FRACTIONS}
    let y0 = i32(oy) - i32(fly);
    let x0 = i32(ox) - i32(flx);
${corners("exitGrad", "img", -1, "    ")}
    acc += ${BLEND};
  }
  out[2u * i] = acc.x;
  out[2u * i + 1u] = acc.y;`,
        )
      }`,
  );
}
