/**
 * Elementwise kernels: unary functions, broadcasting binary ops, complex multiply, polar, fill.
 * One grid item (see `gridMain`) per output element (per complex pair for `cmul`/`polar`), or
 * per 4 elements in the vec4 variants: these kernels are memory bound, so the design goal is
 * contiguous reads and writes across neighbouring lanes and little index arithmetic per element.
 * On llvmpipe every storage load or store runs a bounds-checked loop over the SIMD lanes per
 * component, which a vec4 access amortises (about 2.3× cheaper per value, measured).
 */
import type { BinaryOp, UnaryOp } from "./op_names.ts";
import {
  at,
  gridMain,
  type Kernel,
  kernel,
  readBuf,
  UDIV_FNS,
  UNIFORM_P,
  writeBuf,
} from "./common.ts";

/**
 * WGSL helper functions the unary table refers to (`pow_real` reads `p.inf`, so a kernel using
 * them declares that uniform).
 */
export const UNARY_HELPERS = `
fn stable_tanh(v: f32) -> f32 {
  let t = exp(-2.0 * abs(v));
  return sign(v) * (1.0 - t) / (1.0 + t);
}
fn lgamma_pos(x0: f32) -> f32 {
  // Shift x up to >= 8 with Gamma(x+1) = x Gamma(x), then the Stirling series.
  var x = x0;
  var prod = 1.0;
  while (x < 8.0) { prod *= x; x += 1.0; }
  let z = 1.0 / x;
  let z2 = z * z;
  let series = z * (1.0 / 12.0 - z2 * (1.0 / 360.0 - z2 * (1.0 / 1260.0 - z2 / 1680.0)));
  return (x - 0.5) * log(x) - x + 0.91893853320467274 + series - log(prod);
}
fn pow_real(x: f32, a: f32) -> f32 {
  if (a == 0.0) { return 1.0; }
  if (x == 0.0) { return select(p.inf, 0.0, a > 0.0); }
  let mag = exp2(a * log2(abs(x)));
  if (x > 0.0) { return mag; }
  let odd = abs(a - 2.0 * floor(a * 0.5)) == 1.0;
  return select(mag, -mag, odd);
}
`;

/** The WGSL expression of each unary op in terms of `v` and the scalars `p.a`, `p.b`. */
const UNARY_EXPR: Record<UnaryOp, string> = {
  neg: "-v",
  exp: "exp(v)",
  log: "log(v)",
  sqrt: "sqrt(v)",
  square: "v * v",
  abs: "abs(v)",
  sign: "sign(v)",
  relu: "max(v, 0.0)",
  step: "select(0.0, 1.0, v > 0.0)",
  sigmoid: "1.0 / (1.0 + exp(-v))",
  tanh: "stable_tanh(v)",
  silu: "v / (1.0 + exp(-v))",
  cos: "cos(v)",
  sin: "sin(v)",
  lgamma: "lgamma_pos(v)",
  clamp: "min(max(v, p.a), p.b)",
  inRange: "select(0.0, 1.0, v >= p.a && v <= p.b)",
  pow: "pow_real(v, p.a)",
  affine: "p.a * v + p.b",
};

/**
 * Unary kernel: y[i] = f(x[i]); uniforms (n: u32, a: f32, b: f32, inf: f32). `inf` is +∞ from
 * the host (only `pow` reads it): WGSL rejects an infinite constant expression such as
 * `bitcast<f32>(0x7f800000u)`, and Tint (Chrome) enforces that.
 */
export function unaryKernel(op: UnaryOp, vec4 = false): Kernel {
  return kernel(`unary/${op}${vec4 ? "/vec4" : ""}`, () => {
    const t = vec4 ? "vec4f" : "f32";
    const body = vec4
      ? "  let v = x[i];\n  y[i] = vec4f(f(v.x), f(v.y), f(v.z), f(v.w));"
      : "  y[i] = f(x[i]);";
    return `struct P { n: u32, a: f32, b: f32, inf: f32 }
${UNIFORM_P}${readBuf(1, "x", t)}${writeBuf(2, "y", t)}${UNARY_HELPERS}
fn f(v: f32) -> f32 { return ${UNARY_EXPR[op]}; }
${gridMain("p.n", body)}`;
  });
}

/** Fill kernel: y[i] = value; uniforms (n: u32, value: f32); n counts vec4 with `vec4`. */
export function fillKernel(vec4 = false): Kernel {
  return kernel(`fill${vec4 ? "/vec4" : ""}`, () => {
    return `struct P { n: u32, value: f32 }
${UNIFORM_P}${writeBuf(1, "y", vec4 ? "vec4f" : "f32")}
${gridMain("p.n", vec4 ? "  y[i] = vec4f(p.value);" : "  y[i] = p.value;")}`;
  });
}

const BINARY_EXPR: Record<BinaryOp, string> = {
  add: "u + v",
  sub: "u - v",
  mul: "u * v",
  div: "u / v",
  eq: "select(0.0, 1.0, u == v)",
  gt: "select(0.0, 1.0, u > v)",
  reluGrad: "select(0.0, u, v > 0.0)",
  // The activation gradients are the op chains they replace, in the same order (1 − b as the
  // affine −1·b + 1), so they round like them.
  sigmoidGrad: "u * (v * (-1.0 * v + 1.0))",
  tanhGrad: "u * (-1.0 * (v * v) + 1.0)",
  siluGrad: "u * (sigm(v) + v * (sigm(v) * (-1.0 * sigm(v) + 1.0)))",
  expand: "u + 0.0",
};

/** WGSL helpers of the binary table: the unary kernel's sigmoid. */
const BINARY_HELPERS = "fn sigm(v: f32) -> f32 { return 1.0 / (1.0 + exp(-v)); }\n";

/**
 * The uniform struct of the strided kernels: element count, rank, the output shape and the
 * element strides of the two inputs along the output axes (0 where an input broadcasts).
 */
const STRIDED_P = `${UDIV_FNS}struct P { n: u32, rank: u32, pad0: u32, pad1: u32,
  shape: array<vec4u, 2>, sa: array<vec4u, 2>, sb: array<vec4u, 2> }
`;

/** WGSL lines turning flat index `flat` into offsets `ia`, `ib` of two broadcast inputs. */
function stridedOffsets(flat: string): string {
  return `  var rem = ${flat};
  var ia = 0u;
  var ib = 0u;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let du = u32(d);
    let s = ${at("p.shape", "du")};
    let q = udiv(rem, s);
    let c = rem - q * s;
    rem = q;
    ia += c * ${at("p.sa", "du")};
    ib += c * ${at("p.sb", "du")};
  }
`;
}

/**
 * Broadcasting binary kernel; `sameShape` selects the fast path without index arithmetic, and
 * `vec4` (same shape, size a multiple of 4) makes it one vec4 per item.
 */
export function binaryKernel(op: BinaryOp, sameShape: boolean, vec4 = false): Kernel {
  return kernel(`binary/${op}/${sameShape ? (vec4 ? "vec4" : "same") : "strided"}`, () => {
    const fn = `${BINARY_HELPERS}fn f(u: f32, v: f32) -> f32 { return ${BINARY_EXPR[op]}; }\n`;
    if (sameShape && vec4) {
      const bufs = readBuf(1, "a", "vec4f") + readBuf(2, "b", "vec4f") + writeBuf(3, "y", "vec4f");
      return `struct P { n: u32 }
${UNIFORM_P}${bufs}${fn}
${
        gridMain(
          "p.n",
          `  let u = a[i];
  let v = b[i];
  y[i] = vec4f(f(u.x, v.x), f(u.y, v.y), f(u.z, v.z), f(u.w, v.w));`,
        )
      }`;
    }
    const bufs = readBuf(1, "a") + readBuf(2, "b") + writeBuf(3, "y");
    if (sameShape) {
      return `struct P { n: u32 }
${UNIFORM_P}${bufs}${fn}
${gridMain("p.n", "  y[i] = f(a[i], b[i]);")}`;
    }
    return `${STRIDED_P}${UNIFORM_P}${bufs}${fn}
${gridMain("p.n", `${stridedOffsets("i")}  y[i] = f(a[ia], b[ib]);`)}`;
  });
}

/**
 * How {@link cmulKernel} indexes its operands: `strided` broadcasts over any axes (uniforms as
 * the strided binary kernels'); `same`, both of the output's shape (no index arithmetic, whose
 * integer divisions llvmpipe runs lane by lane); `tail`, a of the output's shape and b repeated
 * over its leading axes (one modulo by b's item count, the uniform `m`).
 */
export type CmulLayout = "strided" | "same" | "tail";

/**
 * Complex multiply y = a·b (or a·conj(b)) over (re, im) pairs; the strided uniforms describe the
 * shapes without the pair axis, in units of pairs. With `vec4` (`same` and `tail` layouts, even
 * pair counts) each item is two pairs.
 */
export function cmulKernel(conjB: boolean, layout: CmulLayout = "strided", vec4 = false): Kernel {
  const wide = layout !== "strided" && vec4;
  const key = `cmul${conjB ? "/conj" : ""}${layout === "strided" ? "" : `/${layout}`}${
    wide ? "/vec4" : ""
  }`;
  return kernel(key, () => {
    const product = (u: string, v: string) =>
      conjB
        ? `${u}.x * ${v}.x + ${u}.y * ${v}.y, ${u}.y * ${v}.x - ${u}.x * ${v}.y`
        : `${u}.x * ${v}.x - ${u}.y * ${v}.y, ${u}.y * ${v}.x + ${u}.x * ${v}.y`;
    const t = wide ? "vec4f" : "vec2f";
    const bufs = readBuf(1, "a", t) + readBuf(2, "b", t) + writeBuf(3, "y", t);
    const value = wide
      ? `vec4f(${product("u", "v")}, ${product("u.zw", "v.zw")})`
      : `vec2f(${product("u", "v")})`;
    const [head, offsets, ia, ib] = layout === "same"
      ? ["struct P { n: u32 }\n", "", "i", "i"]
      : layout === "tail"
      ? [`${UDIV_FNS}struct P { n: u32, m: u32 }\n`, "", "i", "umod(i, p.m)"]
      : [STRIDED_P, stridedOffsets("i"), "ia", "ib"];
    return `${head}${UNIFORM_P}${bufs}
${gridMain("p.n", `${offsets}  let u = a[${ia}];\n  let v = b[${ib}];\n  y[i] = ${value};`)}`;
  });
}

/** polar: y[i] = (amp[i] cos(phase[i]), amp[i] sin(phase[i])). */
export function polarKernel(): Kernel {
  return kernel("polar", () => {
    return `struct P { n: u32 }
${UNIFORM_P}${readBuf(1, "amp")}${readBuf(2, "phase")}${writeBuf(3, "y", "vec2f")}
${
      gridMain(
        "p.n",
        `  let r = amp[i];
  let t = phase[i];
  y[i] = vec2f(r * cos(t), r * sin(t));`,
      )
    }`;
  });
}
