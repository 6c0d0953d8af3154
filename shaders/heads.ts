/**
 * The decoder heads' epilogue of model/network.ts in one kernel, and its gradient in one kernel
 * per head: amplitude a = pad(sigmoid(ac)) + silu(ab)·mask, phase φ = pad(π·tanh(pc)) +
 * silu(pb)·mask, out = a·e^{iφ}, the mask being 1 outside the central window. The expressions
 * are those of the unary, binary and polar kernels they replace (shaders/elementwise.ts,
 * shaders/complex.ts), so they round alike.
 *
 * Uniforms (planes, n, side, lo): output planes, output side, central side, first row and column
 * of the central window. One grid item per output pixel.
 */
import { gridMain, type Kernel, kernel, readBuf, UDIV_FNS, UNIFORM_P, writeBuf } from "./common.ts";

const HEADER = `struct P { planes: u32, n: u32, side: u32, lo: u32 }
${UNIFORM_P}${UDIV_FNS}
fn stable_tanh(v: f32) -> f32 {
  let t = exp(-2.0 * abs(v));
  return sign(v) * (1.0 - t) / (1.0 + t);
}
fn sigm(v: f32) -> f32 { return 1.0 / (1.0 + exp(-v)); }
fn silu(v: f32) -> f32 { return v / (1.0 + exp(-v)); }
`;

/**
 * Decode item i into its plane and pixel; `k` is the central input's index and `inside` whether
 * the pixel lies in the central window (then the border mask is 0).
 */
const DECODE = `  let area = p.n * p.n;
  let plane = udiv(i, area);
  let r = i - plane * area;
  let y = udiv(r, p.n);
  let x = r - y * p.n;
  let cy = i32(y) - i32(p.lo);
  let cx = i32(x) - i32(p.lo);
  let inside = cy >= 0 && cy < i32(p.side) && cx >= 0 && cx < i32(p.side);
  let k = select(0u, (plane * p.side + u32(cy)) * p.side + u32(cx), inside);
  let mask = select(1.0, 0.0, inside);`;

/** Amplitude and phase at item i (needs DECODE and the four input buffers). */
const HEADS = `  var amp = 0.0;
  var phase = 0.0;
  if (inside) {
    amp = sigm(ac[k]);
    phase = ${Math.PI} * stable_tanh(pc[k]) + 0.0;
  }
  amp = amp + silu(ab[i]) * mask;
  phase = phase + silu(pb[i]) * mask;`;

/** Bindings 1–4 of both kernels: the heads' central and border outputs. */
const INPUTS = `${readBuf(1, "ac")}${readBuf(2, "ab")}${readBuf(3, "pc")}${readBuf(4, "pb")}`;

/** Forward: (ac, ab, pc, pb) → complex object (planes, n, n, 2). */
export function objectFromHeadsKernel(): Kernel {
  return kernel("heads.object", () =>
    `${HEADER}${INPUTS}${writeBuf(5, "out", "vec2f")}
${
      gridMain(
        "p.planes * p.n * p.n",
        `${DECODE}\n${HEADS}\n  out[i] = vec2f(amp * cos(phase), amp * sin(phase));`,
      )
    }`);
}

/**
 * Gradient w.r.t. one head's inputs: g (vec2f), ac, ab, pc, pb → dCentral (planes, side, side),
 * dBorder (planes, n, n) of the amplitude head or (`phase`) the phase head.
 */
export function objectFromHeadsGradKernel(phase: boolean): Kernel {
  return kernel(`heads.object.grad/${phase ? "phase" : "amp"}`, () => {
    const central = phase
      ? `(${Math.PI} * d + 0.0) * (-1.0 * (t * t) + 1.0)`
      : "d * (t * (-1.0 * t + 1.0))";
    return `${HEADER}${INPUTS}${readBuf(5, "g", "vec2f")}${writeBuf(6, "dcentral")}${
      writeBuf(7, "dborder")
    }
${
      gridMain(
        "p.planes * p.n * p.n",
        `${DECODE}
${HEADS}
  let u = g[i];
  let v = vec2f(1.0 * cos(phase), 1.0 * sin(phase));
  let d = ${phase ? "(u.y * v.x - u.x * v.y) * amp" : "u.x * v.x + u.y * v.y"};
  if (inside) {
    let t = ${phase ? "stable_tanh(pc[k])" : "sigm(ac[k])"};
    dcentral[k] = ${central};
  }
  let e = d * mask;
  let b = ${phase ? "pb[i]" : "ab[i]"};
  dborder[i] = e * (sigm(b) + b * (sigm(b) * (-1.0 * sigm(b) + 1.0)));`,
      )
    }`;
  });
}
