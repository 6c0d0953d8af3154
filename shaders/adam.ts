/**
 * Fused Adam/AdamW update, in place on the parameter and both moment buffers, one grid item
 * per element: m ← β1 m + (1−β1) g; v ← β2 v + (1−β2) g²;
 * p ← p − lr·wd·p − lr·(m/bc1)/(sqrt(v/bc2) + eps).
 *
 * A conv weight also lives re-laid for the direct convolution kernel (shaders/conv2d.ts,
 * `convWeightPrepKernel`, forward and flipped). The `layouts` variants write each new value into
 * those copies too, so they stay current without a re-layout pass per weight and step.
 */
import { gridMain, type Kernel, kernel, readBuf, UNIFORM_P, writeBuf } from "./common.ts";

/**
 * Where element e of weights (A, B, kh, kw) goes in a re-laid copy with dims g = (icn, ocn, kh,
 * kw) and form f = (flip, OB): W[oc / OB][ic][ky][kx][oc % OB] with (oc, ic) = (A, B), or, flipped,
 * (B, A) at the mirrored tap (the same map as convWeightPrepKernel, inverted).
 */
const LAYOUT_INDEX = `fn layoutIndex(e: u32, g: vec4u, f: vec4u) -> u32 {
  var kx = e % g.w;
  var t = e / g.w;
  var ky = t % g.z;
  t = t / g.z;
  var oc = t / g.x;
  var ic = t % g.x;
  if (f.x == 1u) {
    oc = t % g.y;
    ic = t / g.y;
    ky = g.z - 1u - ky;
    kx = g.w - 1u - kx;
  }
  return (((oc / f.y * g.x + ic) * g.z + ky) * g.w + kx) * f.y + oc % f.y;
}
`;

/**
 * Adam kernel; uniforms (n, lr, beta1, beta2, eps, weightDecay, bc1, bc2), then per re-laid copy
 * k < `layouts` its dims gk and form fk (see LAYOUT_INDEX); copy k is binding 5 + k. With `vec4`
 * every item is 4 elements (n counts vec4; the same expressions hold componentwise).
 */
export function adamKernel(vec4 = false, layouts: 0 | 1 | 2 = 0): Kernel {
  const key = `adam${layouts ? `/l${layouts}` : ""}${vec4 ? "/vec4" : ""}`;
  return kernel(key, () => {
    const t = vec4 ? "vec4f" : "f32";
    const ks = [...Array(layouts).keys()];
    const fields = ks.map((k) => `, g${k}: vec4u, f${k}: vec4u`).join("");
    const copies = ks.map((k) => writeBuf(5 + k, `L${k}`)).join("");
    const comps = vec4 ? ["x", "y", "z", "w"] : [""];
    const scatter = ks.flatMap((k) =>
      comps.map((c, j) => {
        const e = vec4 ? `4u * i + ${j}u` : "i";
        return `\n  L${k}[layoutIndex(${e}, p.g${k}, p.f${k})] = pn${vec4 ? `.${c}` : ""};`;
      })
    ).join("");
    return `struct P { n: u32, lr: f32, b1: f32, b2: f32, eps: f32, wd: f32, bc1: f32, bc2: f32${fields} }
${UNIFORM_P}${writeBuf(1, "prm", t)}${readBuf(2, "g", t)}${writeBuf(3, "m", t)}${
      writeBuf(4, "v", t)
    }${copies}${layouts ? LAYOUT_INDEX : ""}
${
      gridMain(
        "p.n",
        `  let gi = g[i];
  let mi = p.b1 * m[i] + (1.0 - p.b1) * gi;
  let vi = p.b2 * v[i] + (1.0 - p.b2) * gi * gi;
  m[i] = mi;
  v[i] = vi;
  let pi = prm[i];
  let pn = pi - p.lr * p.wd * pi - p.lr * (mi / p.bc1) / (sqrt(vi / p.bc2) + p.eps);
  prm[i] = pn;${scatter}`,
      )
    }`;
  });
}
