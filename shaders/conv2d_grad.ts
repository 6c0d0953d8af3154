/**
 * Weight- and bias-gradient kernels of the stride-1 2-D convolution (NCHW):
 *
 * - `convGradWeightKernel`: each invocation owns OB output × CB input channels × the KW taps of
 *   one kernel row of dw and sums dy·x over a fixed range of image rows (one split); the backend
 *   splits the rows so enough lanes work, then sums the splits' partials in a fixed order.
 * - Every invocation also sums its OB channels of dy over the rows it walks; the invocations of
 *   kernel row ky = padTop and the first input-channel tile, which skip no row when
 *   outH ≤ h, store these as the bias-gradient partials db[s, o] = Σ dy (binding 4), so the
 *   bias gradient costs no pass of its own over dy.
 * - `convGradFinishKernel` sums the weight and bias partials of all splits into dw and db, each
 *   in split order (deterministic), for several layers per dispatch: the backend defers it until
 *   a gradient is used, so the layers of a backward pass share a few dispatches.
 * - `convGradWeightVec4Kernel`: rows a multiple of 4 long read every value as an aligned vec4
 *   (see shaders/conv2d.ts on vec4 loads on llvmpipe).
 */
import {
  flatMain,
  type Kernel,
  kernel,
  readBuf,
  slotMain,
  texelAt,
  texelBuf,
  type TexelKind,
  texelTag,
  UNIFORM_P,
  writeBuf,
} from "./common.ts";

/** Uniforms of both weight-gradient kernels. */
const GRAD_WEIGHT_P = `struct P { n: u32, c: u32, h: u32, w: u32, o: u32, outH: u32, outW: u32,
  padTop: i32, padLeft: i32, kh: u32, tilesO: u32, tilesC: u32, rowsPerSplit: u32, splits: u32 }
`;

/**
 * Shared start of the weight-gradient kernels: decode (split s, output tile ot, kernel row ky,
 * input tile ct) from `i`, the clamped channel offsets xc{c} and dyo{r} (in units of `per`
 * values: 1 for f32, 4 for vec4 access) and the zeroed accumulators a{r}_{c}_{k}.
 */
function gradWeightPrologue(KW: number, OB: number, CB: number, per: 1 | 4): string[] {
  const div = per === 1 ? "" : ` / ${per}u`;
  const out = [`  let total = p.splits * p.tilesO * p.kh * p.tilesC;
  if (i >= total) { return; }
  let ct = i % p.tilesC;
  var t = i / p.tilesC;
  let ky = t % p.kh;
  t = t / p.kh;
  let ot = t % p.tilesO;
  let s = t / p.tilesO;
  let hw${per === 1 ? "" : per} = p.h * p.w${div};
  let ohw${per === 1 ? "" : per} = p.outH * p.outW${div};`];
  const sfx = per === 1 ? "" : String(per);
  for (let c = 0; c < CB; c++) {
    out.push(`  let xc${c} = min(ct * ${CB}u + ${c}u, p.c - 1u) * hw${sfx};`);
  }
  for (let r = 0; r < OB; r++) {
    out.push(`  let dyo${r} = min(ot * ${OB}u + ${r}u, p.o - 1u) * ohw${sfx};`);
  }
  for (let r = 0; r < OB; r++) {
    for (let c = 0; c < CB; c++) {
      for (let k = 0; k < KW; k++) out.push(`  var a${r}_${c}_${k} = 0.0;`);
    }
    out.push(`  var bs${r} = ${per === 1 ? "0.0" : "vec4f(0.0)"};`);
  }
  return out;
}

/**
 * The loop over the image rows of split s (rows outside the input for kernel row ky skipped),
 * with the row starts xRow and dRow in units of `per` values; the caller closes it.
 */
function gradWeightRows(per: 1 | 4): string {
  const sfx = per === 1 ? "" : String(per), div = per === 1 ? "" : ` / ${per}u`;
  return `  let g1 = min((s + 1u) * p.rowsPerSplit, p.n * p.outH);
  for (var g = s * p.rowsPerSplit; g < g1; g++) {
    let b = g / p.outH;
    let oy = g % p.outH;
    let iy = i32(oy) + i32(ky) - p.padTop;
    if (iy < 0 || iy >= i32(p.h)) { continue; }
    let xRow = b * p.c * hw${sfx} + u32(iy) * (p.w${div});
    let dRow = b * p.o * ohw${sfx} + oy * (p.outW${div});`;
}

/**
 * Shared end of the weight-gradient kernels: store the partial sums of split s, and the bias
 * partials from the invocations of kernel row padTop and input tile 0 (`bias` reduces the
 * accumulator bs{r} to a scalar).
 */
function gradWeightEpilogue(
  KW: number,
  OB: number,
  CB: number,
  bias: (r: number) => string,
): string[] {
  const out = [`  let taps = p.kh * ${KW}u;
  if (i32(ky) == p.padTop && ct == 0u) {`];
  for (let r = 0; r < OB; r++) {
    out.push(
      `    if (ot * ${OB}u + ${r}u < p.o) { BY[s * p.o + ot * ${OB}u + ${r}u] = ${bias(r)}; }`,
    );
  }
  out.push("  }");
  for (let r = 0; r < OB; r++) {
    out.push(`  if (ot * ${OB}u + ${r}u < p.o) {
    let base = ((s * p.o + ot * ${OB}u + ${r}u) * p.c + ct * ${CB}u) * taps + ky * ${KW}u;`);
    for (let c = 0; c < CB; c++) {
      out.push(`    if (ct * ${CB}u + ${c}u < p.c) {`);
      for (let k = 0; k < KW; k++) {
        out.push(`      Y[base + ${c}u * taps + ${k}u] = a${r}_${c}_${k};`);
      }
      out.push("    }");
    }
    out.push("  }");
  }
  return out;
}

/**
 * Block of the weight-gradient kernel for a layer: OB output × CB input channels per
 * invocation. On llvmpipe (3×3, 64→64, 64×64, B16) throughput per CPU second went about 9.5
 * (8×4), 11.5 (16×4), 12.5 (16×8) GFLOP/s; bigger blocks were no better. Small layers get
 * smaller blocks so lanes are not wasted. `maxOB`/`maxCB` cap the block where an adapter's
 * compiler cannot take the big one (engine/webgpu/adapter_table.ts).
 */
export function convGradWeightBlock(
  o: number,
  c: number,
  maxOB = 16,
  maxCB = 8,
): { OB: number; CB: number } {
  return {
    OB: Math.min(maxOB, o >= 16 ? 16 : o > 4 ? 8 : 4),
    CB: Math.min(maxCB, c >= 8 ? 8 : 4),
  };
}

/**
 * Weight gradient partials: part[s, o, c, ky, kx] = Σ over the image rows of chunk s of dy·x.
 * Each invocation owns OB output channels × CB input channels × all KW taps of one
 * kernel row ky, and walks each image row keeping a sliding window of the KW input values per
 * channel in registers: per output pixel it loads OB + CB values for OB·CB·KW multiply-adds.
 * Uniforms (n, c, h, w, o, outH, outW, padTop, padLeft, kh, tilesO, tilesC, rowsPerSplit, splits).
 */
export function convGradWeightKernel(KW: number, OB: number, CB: number, U = 2): Kernel {
  return kernel(`conv2d.gradWeight/kw${KW}/ob${OB}/cb${CB}/u${U}`, () => {
    const rs = [...Array(OB).keys()];
    const cs = [...Array(CB).keys()];
    const ks = [...Array(KW).keys()];
    const out: string[] = [];
    out.push(...gradWeightPrologue(KW, OB, CB, 1));
    out.push("  let wMax = i32(p.w) - 1;");
    out.push(gradWeightRows(1));
    const ld = (c: number, ix: string) =>
      `select(0.0, X[xRow + xc${c} + u32(clamp(${ix}, 0, wMax))], ${ix} >= 0 && ${ix} <= wMax)`;
    // Window x{c}_{k} = x[c, ox + k − padLeft] for k < KW + U − 1: U pixels per iteration, so each
    // accumulator takes U terms per load/store (most accumulators live on the stack on llvmpipe).
    const win = KW + U - 1;
    for (const c of cs) {
      for (const k of ks.slice(0, KW - 1)) {
        out.push(`    var x${c}_${k} = ${ld(c, `${k} - p.padLeft`)};`);
      }
      for (let k = KW - 1; k < win; k++) out.push(`    var x${c}_${k} = 0.0;`);
    }
    out.push(`    for (var ox = 0u; ox < p.outW; ox += ${U}u) {`);
    for (let u = 0; u < U; u++) {
      out.push(`      let ix${u} = i32(ox) + ${KW - 1 + u} - p.padLeft;`);
      for (const c of cs) out.push(`      x${c}_${KW - 1 + u} = ${ld(c, `ix${u}`)};`);
    }
    for (const r of rs) {
      for (let u = 0; u < U; u++) {
        const di = `dRow + dyo${r} + min(ox + ${u}u, p.outW - 1u)`;
        out.push(
          `      let d${r}_${u} = ${
            u === 0 ? `DY[${di}]` : `select(0.0, DY[${di}], ox + ${u}u < p.outW)`
          };`,
        );
      }
      out.push(`      bs${r} += ${[...Array(U).keys()].map((u) => `d${r}_${u}`).join(" + ")};`);
      for (const c of cs) {
        for (const k of ks) {
          let sum = `a${r}_${c}_${k}`;
          for (let u = 0; u < U; u++) sum = `(${sum} + d${r}_${u} * x${c}_${k + u})`;
          out.push(`      a${r}_${c}_${k} = ${sum};`);
        }
      }
    }
    for (const c of cs) {
      for (const k of ks.slice(0, KW - 1)) out.push(`      x${c}_${k} = x${c}_${k + U};`);
    }
    out.push("    }", "  }", ...gradWeightEpilogue(KW, OB, CB, (r) => `bs${r}`));
    return `${GRAD_WEIGHT_P}${UNIFORM_P}${readBuf(1, "X")}${readBuf(2, "DY")}${writeBuf(3, "Y")}${
      writeBuf(4, "BY")
    }
${flatMain(out.join("\n"))}`;
  });
}

/**
 * The weight-gradient partials of {@link convGradWeightKernel} for rows a multiple of 4 long
 * (outW and w), with padLeft baked in: four output pixels per step, every load an aligned
 * vec4 (one per output channel of dy, one per input channel of x, whose window slides by a
 * whole chunk per step). Per step OB + CB vec4 loads feed 4·OB·CB·KW multiply-adds, against
 * 2·(OB + CB) scalar loads per 2·OB·CB·KW in the scalar kernel; on llvmpipe a vec4 load costs
 * about 2.3× less per value than scalar ones. Same uniforms and output as the scalar kernel.
 * With `textures`, x and dy are texel bindings (shaders/common.ts `texelAt`), cheaper still.
 */
export function convGradWeightVec4Kernel(
  KW: number,
  OB: number,
  CB: number,
  padLeft: number,
  textures = false,
  texelKind: TexelKind = "storage",
): Kernel {
  const tex = textures ? `/${texelTag(texelKind)}` : "";
  const key = `conv2d.gradWeight.vec4/kw${KW}/ob${OB}/cb${CB}/pad${padLeft}${tex}`;
  return kernel(key, () => {
    const rs = [...Array(OB).keys()];
    const cs = [...Array(CB).keys()];
    const ks = [...Array(KW).keys()];
    // x(c, ox + pos) for pos in [−padLeft, 3 + KW − 1 − padLeft] lies in chunks lo..hi (relative to
    // ox / 4); chunk j of channel c is v{c}_{j − lo}.
    const lo = Math.floor(-padLeft / 4), hi = Math.floor((3 + KW - 1 - padLeft) / 4);
    const span = hi - lo + 1;
    const xAt = (c: number, pos: number) => {
      const j = Math.floor(pos / 4);
      return `v${c}_${j - lo}[${pos - 4 * j}]`;
    };
    const out: string[] = [];
    out.push(...gradWeightPrologue(KW, OB, CB, 4));
    out.push("  let w4 = i32(p.w / 4u);");
    const x = (at: string) => textures ? texelAt("X", at, texelKind) : `X[${at}]`;
    const load = (c: number, chunk: string) =>
      `select(vec4f(0.0), ${
        x(`xRow + xc${c} + u32(clamp(${chunk}, 0, w4 - 1))`)
      }, ${chunk} >= 0 && ${chunk} < w4)`;
    out.push(gradWeightRows(4));
    for (const c of cs) {
      for (let j = 0; j < span - 1; j++) out.push(`    var v${c}_${j} = ${load(c, `${lo + j}`)};`);
      out.push(`    var v${c}_${span - 1} = vec4f(0.0);`);
    }
    out.push(`    for (var q = 0u; q < p.outW / 4u; q++) {
      let nx = i32(q) + ${hi};`);
    for (const c of cs) out.push(`      v${c}_${span - 1} = ${load(c, "nx")};`);
    for (const r of rs) {
      const at = `dRow + dyo${r} + q`;
      out.push(`      let d${r} = ${textures ? texelAt("DY", at, texelKind) : `DY[${at}]`};
      bs${r} += d${r};`);
      for (const c of cs) {
        for (const k of ks) {
          let sum = `a${r}_${c}_${k}`;
          for (let u = 0; u < 4; u++) sum = `(${sum} + d${r}[${u}] * ${xAt(c, u + k - padLeft)})`;
          out.push(`      a${r}_${c}_${k} = ${sum};`);
        }
      }
    }
    for (const c of cs) {
      for (let j = 0; j < span - 1; j++) out.push(`      v${c}_${j} = v${c}_${j + 1};`);
    }
    const hsum = (r: number) => `((bs${r}.x + bs${r}.y) + (bs${r}.z + bs${r}.w))`;
    out.push("    }", "  }", ...gradWeightEpilogue(KW, OB, CB, hsum));
    const inputs = textures
      ? texelBuf(1, "X", texelKind) + texelBuf(2, "DY", texelKind)
      : readBuf(1, "X", "vec4f") + readBuf(2, "DY", "vec4f");
    return `${GRAD_WEIGHT_P}${UNIFORM_P}${inputs}${writeBuf(3, "Y")}${writeBuf(4, "BY")}
${flatMain(out.join("\n"))}`;
  });
}

/**
 * Finishes the gradients of `slots` layers in one dispatch (see `slotMain`): for slot s,
 * dw[j] = Σ_t part[t, j] for j < size and db[j − size] = Σ_t bpart[t, j − size] below size + o,
 * in split order. Uniforms (n = all items, ends, per slot (size, o, splits, 0)); slot s binds
 * part, bpart, dw, db at 1 + 4s. With `vec`, every size and o are multiples of 4 and an item is
 * four consecutive values read and written as vec4 (n and ends count vec4 items): on llvmpipe a
 * storage load is a loop over the SIMD lanes, so this reads the partials about 3× faster, with
 * the same sums in the same order.
 */
export function convGradFinishKernel(slots = 1, vec = false): Kernel {
  const key = `conv2d.gradFinish${vec ? ".vec4" : ""}${slots > 1 ? `/k${slots}` : ""}`;
  return kernel(key, () => {
    const ss = [...Array(slots).keys()];
    const t = vec ? "vec4f" : "f32";
    const bindings = ss.map((s) =>
      readBuf(1 + 4 * s, `part${s}`, t) + readBuf(2 + 4 * s, `bpart${s}`, t) +
      writeBuf(3 + 4 * s, `dw${s}`, t) + writeBuf(4 + 4 * s, `db${s}`, t)
    ).join("");
    const per = vec ? " / 4u" : "";
    const body = (s: number) =>
      `      let d = p.dims[${s}];
      let size = d.x${per};
      let o = d.y${per};
      var acc = ${t}(0.0);
      if (j < size) {
        for (var t = 0u; t < d.z; t++) { acc += part${s}[t * size + j]; }
        dw${s}[j] = acc;
      } else {
        let k = j - size;
        for (var t = 0u; t < d.z; t++) { acc += bpart${s}[t * o + k]; }
        db${s}[k] = acc;
      }`;
    return `struct P { n: u32, pad0: u32, pad1: u32, pad2: u32, ends: array<vec4u, ${
      Math.ceil(slots / 4)
    }>, dims: array<vec4u, ${slots}> }
${UNIFORM_P}${bindings}
${slotMain("p.n", ss.map(body), (s) => `p.ends[${s >> 2}][${s & 3}]`)}`;
  });
}
