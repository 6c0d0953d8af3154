/**
 * Fused Adam/AdamW update, in place on the parameters and their moment buffers, one grid item
 * per element: m ← β1 m + (1−β1) g; v ← β2 v + (1−β2) g²;
 * p ← p − lr·wd·p − lr·(m/bc1)/(sqrt(v/bc2) + eps). A parameter of n items keeps both moments
 * in one buffer of 2n, m at [0, n) and v at [n, 2n): one binding fewer per parameter.
 *
 * One dispatch updates several parameters (slots, see `slotMain`), each with its own buffers,
 * so a step costs a few dispatches instead of one per parameter (the backend groups the
 * parameters as the device's storage-buffer limit allows).
 *
 * The `ema` variants also keep each parameter's exponential moving average e (bound after mv):
 * e ← d·e + (1 − d)·p with the new p, d the uniform `ed`.
 *
 * A conv weight also lives re-laid for the direct convolution kernel (shaders/conv2d.ts,
 * `convWeightPrepKernel`, forward and flipped). The `layouts` variants write each new value into
 * those copies too, so they stay current without a re-layout pass per weight and step.
 */
import { type Kernel, kernel, readBuf, slotMain, UNIFORM_P, writeBuf } from "./common.ts";

/**
 * Where element e of weights (A, B, kh, kw) goes in a re-laid copy described by q = (icn | ocn
 * << 16, kh | kw << 16, flip | OB << 16, 0): W[oc / OB][ic][ky][kx][oc % OB] with (oc, ic) =
 * (A, B), or, flipped, (B, A) at the mirrored tap (convWeightPrepKernel's map, inverted).
 */
const LAYOUT_INDEX = `fn layoutIndex(e: u32, q: vec4u) -> u32 {
  let icn = q.x & 65535u;
  let ocn = q.x >> 16u;
  let kh = q.y & 65535u;
  let kw = q.y >> 16u;
  let ob = q.z >> 16u;
  var kx = e % kw;
  var t = e / kw;
  var ky = t % kh;
  t = t / kh;
  var oc = t / icn;
  var ic = t % icn;
  if ((q.z & 65535u) == 1u) {
    oc = t % ocn;
    ic = t / ocn;
    ky = kh - 1u - ky;
    kx = kw - 1u - kx;
  }
  return (((oc / ob * icn + ic) * kh + ky) * kw + kx) * ob + oc % ob;
}
`;

/**
 * Uniform words of a multi-slot Adam dispatch: 8 scalars (12 with `ema`: the decay and padding),
 * the slot ends, the layout words.
 */
export function adamUniformWords(slots: number, layouts: number, ema = false): number {
  return (ema ? 12 : 8) + 4 * Math.ceil(slots / 4) + 4 * slots * layouts;
}

/**
 * Adam kernel over `slots` parameters; uniforms (n = all items, lr, beta1, beta2, eps,
 * weightDecay, bc1, bc2), `ends` (slot s owns items [ends[s − 1], ends[s])) and, per slot s and
 * re-laid copy k < `layouts`, its word lay[s·layouts + k] (see LAYOUT_INDEX); with `ema`, the
 * decay `ed` (and three padding words) after bc2. Slot s binds p, g, mv, (e,) and its copies
 * at 1 + s·(3 + ema + layouts). With `vec4` every item is 4 elements (the same expressions hold
 * componentwise).
 */
export function adamKernel(vec4 = false, layouts: 0 | 1 | 2 = 0, slots = 1, ema = false): Kernel {
  const key = `adam${layouts ? `/l${layouts}` : ""}${slots > 1 ? `/k${slots}` : ""}${
    vec4 ? "/vec4" : ""
  }${ema ? "/ema" : ""}`;
  return kernel(key, () => {
    const t = vec4 ? "vec4f" : "f32";
    const ne = ema ? 1 : 0;
    const per = 3 + ne + layouts;
    const ss = [...Array(slots).keys()], ks = [...Array(layouts).keys()];
    const ends = Math.ceil(slots / 4);
    const lay = layouts ? `, lay: array<vec4u, ${slots * layouts}>` : "";
    const bindings = ss.map((s) => {
      const b = 1 + s * per;
      return writeBuf(b, `p${s}`, t) + readBuf(b + 1, `g${s}`, t) + writeBuf(b + 2, `mv${s}`, t) +
        (ema ? writeBuf(b + 3, `e${s}`, t) : "") +
        ks.map((k) => writeBuf(b + 3 + ne + k, `L${s}_${k}`)).join("");
    }).join("");
    const comps = vec4 ? [".x", ".y", ".z", ".w"] : [""];
    const body = (s: number) => {
      const scatter = ks.flatMap((k) =>
        comps.map((c, q) => {
          const e = vec4 ? `4u * j + ${q}u` : "j";
          return `\n    L${s}_${k}[layoutIndex(${e}, p.lay[${s * layouts + k}])] = pn${c};`;
        })
      ).join("");
      return `    let gi = g${s}[j];
    let jv = j + ${end(s)} - base;
    let mi = p.b1 * mv${s}[j] + (1.0 - p.b1) * gi;
    let vi = p.b2 * mv${s}[jv] + (1.0 - p.b2) * gi * gi;
    mv${s}[j] = mi;
    mv${s}[jv] = vi;
    let pi = p${s}[j];
    let pn = pi - p.lr * p.wd * pi - p.lr * (mi / p.bc1) / (sqrt(vi / p.bc2) + p.eps);
    p${s}[j] = pn;${ema ? `\n    e${s}[j] = p.ed * e${s}[j] + (1.0 - p.ed) * pn;` : ""}${scatter}`;
    };
    const end = (s: number) => `p.ends[${s >> 2}][${s & 3}]`;
    const decay = ema ? "\n  ed: f32, pad0: u32, pad1: u32, pad2: u32," : "";
    return `struct P { n: u32, lr: f32, b1: f32, b2: f32, eps: f32, wd: f32, bc1: f32, bc2: f32,${decay}
  ends: array<vec4u, ${ends}>${lay} }
${UNIFORM_P}${bindings}${layouts ? LAYOUT_INDEX : ""}
${slotMain("p.n", ss.map(body), end)}`;
  });
}
