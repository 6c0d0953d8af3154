/**
 * Reduction over the middle axis of an (outer, mid, inner) view, in a fixed order.
 *
 * One grid item owns one output and walks its `mid` range sequentially, so sums are
 * deterministic (no atomics) and neighbouring lanes read neighbouring `inner` elements. To keep
 * long reductions parallel, the backend may first reduce fixed-length chunks of `mid` into
 * partials (outer, chunks, inner) and then reduce the partials with the same kernel.
 */
import type { ReduceOp } from "./op_names.ts";
import { gridMain, type Kernel, kernel, readBuf, UNIFORM_P, writeBuf } from "./common.ts";

/**
 * y[o, ch, i] = reduce over m in [ch·chunkLen, min(mid, (ch+1)·chunkLen)) of x[o, m, i];
 * uniforms (outer, mid, inner, chunkLen, chunks, negInf, scale). `negInf` is −∞ from the host,
 * the start of a max: WGSL rejects an infinite constant expression (Tint enforces it). A scale
 * other than 1 multiplies each result as the affine kernel would (scale·v + 0: a mean). With
 * `weighted`, x[·]·w[·] is reduced (w binding 2, y then binding 3).
 */
export function reduceKernel(op: ReduceOp, weighted = false): Kernel {
  return kernel(`reduce/${op}${weighted ? "/weighted" : ""}`, () => {
    const init = op === "sum" ? "0.0" : "p.negInf";
    const step = op === "sum" ? "acc += v;" : "acc = max(acc, v);";
    return `struct P { outer: u32, mid: u32, inner: u32, chunkLen: u32, chunks: u32, negInf: f32,
  scale: f32 }
${UNIFORM_P}${readBuf(1, "x")}${
      weighted ? `${readBuf(2, "w")}${writeBuf(3, "y")}` : writeBuf(2, "y")
    }
${
      gridMain(
        "p.outer * p.chunks * p.inner",
        `  let per = p.chunks * p.inner;
  let o = i / per;
  let r = i % per;
  let ch = r / p.inner;
  let inn = r % p.inner;
  let m0 = ch * p.chunkLen;
  let m1 = min(p.mid, m0 + p.chunkLen);
  var acc = ${init};
  var idx = (o * p.mid + m0) * p.inner + inn;
  for (var m = m0; m < m1; m++) {
    let v = x[idx]${weighted ? " * w[idx]" : ""};
    ${step}
    idx += p.inner;
  }
  y[i] = select(p.scale * acc + 0.0, acc, p.scale == 1.0);`,
      )
    }`;
  });
}
