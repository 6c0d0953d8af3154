/**
 * Batched matmul C = A·Bᵀ on "k-major" operands, register blocked: A is (batch, m, kPad) and B
 * is (batch, n, kPad), both row-major with kPad a multiple of 4, so every invocation streams
 * its own rows of A and B along k as vec4. The backend packs other layouts (transposes, k not a
 * multiple of 4) into this form first with `matmulPackKernel`.
 *
 * Each invocation owns an RM-row × RN-column block of C (RN/4 vec4 accumulators per row) and uses
 * no shared memory. Why: llvmpipe runs a workgroup on one CPU thread with 8-wide SIMD across lanes,
 * and every storage read becomes a per-lane gather, so the ratio of FMAs to loads (RM·RN·4 per (RM
 * + RN) vec4 loads per k-step of 4) sets the speed; shared-memory tiles with barriers are 10-20×
 * slower there (docs/engine.md#matmul-kernels). Reading both operands along k keeps each lane's
 * reads sequential, which measured 2-3× faster than reading B along its rows. On a real GPU
 * neighbouring lanes take neighbouring column blocks, so A reads are broadcast.
 */
import { flatMain, gridMain, type Kernel, kernel, readBuf, UNIFORM_P, writeBuf } from "./common.ts";

/** Rows (of A) and columns (of B) of the output block owned by one invocation. */
export const MATMUL_RM = 16;
/** See {@link MATMUL_RM}; a multiple of 4. */
export const MATMUL_RN = 16;

/**
 * Pack one operand into k-major form: y[b, r, kk] = kk < k ? x[b·batchStride + r·rowStride +
 * kk·kStride] : 0 for kk < kPad; uniforms (n, rows, k, kPad, batchStride, rowStride, kStride).
 */
export function matmulPackKernel(): Kernel {
  return kernel("matmul.pack", () => {
    return `struct P { n: u32, rows: u32, k: u32, kPad: u32, batchStride: u32, rowStride: u32,
  kStride: u32 }
${UNIFORM_P}${readBuf(1, "x")}${writeBuf(2, "y")}
${
      gridMain(
        "p.n",
        `  let kk = i % p.kPad;
  let t = i / p.kPad;
  let r = t % p.rows;
  let b = t / p.rows;
  let src = b * p.batchStride + r * p.rowStride + min(kk, p.k - 1u) * p.kStride;
  y[i] = select(0.0, x[src], kk < p.k);`,
      )
    }`;
  });
}

/**
 * Matmul kernel text for an RM × RN block; uniforms (m, n, kPad4 (kPad / 4), tilesM, tilesN,
 * strideA4, strideB4 (batch strides in vec4, 0 to broadcast), batch).
 */
export function matmulKernel(RM = MATMUL_RM, RN = MATMUL_RN): Kernel {
  return kernel(`matmul/${RM}x${RN}`, () => {
    const rows = [...Array(RM).keys()];
    const cols = [...Array(RN).keys()];
    const quads = [...Array(RN / 4).keys()];
    const L: string[] = [];
    L.push(`  let total = p.batch * p.tilesM * p.tilesN;
  if (i >= total) { return; }
  let ct = i % p.tilesN;
  let t = i / p.tilesN;
  let rt = t % p.tilesM;
  let bz = t / p.tilesM;
  let row0 = rt * ${RM}u;
  let col0 = ct * ${RN}u;`);
    for (const j of rows) {
      L.push(`  let ar${j} = bz * p.strideA4 + min(row0 + ${j}u, p.m - 1u) * p.k4;`);
      for (const h of quads) L.push(`  var acc${j}_${h} = vec4f(0.0);`);
    }
    for (const q of cols) {
      L.push(`  let bc${q} = bz * p.strideB4 + min(col0 + ${q}u, p.n - 1u) * p.k4;`);
    }
    L.push("  for (var kq = 0u; kq < p.k4; kq++) {");
    for (const j of rows) L.push(`    let a${j} = A[ar${j} + kq];`);
    for (const q of cols) L.push(`    let b${q} = B[bc${q} + kq];`);
    for (const t of [0, 1, 2, 3]) {
      for (const h of quads) {
        const c = [0, 1, 2, 3].map((u) => `b${4 * h + u}[${t}]`).join(", ");
        L.push(`    let bt${t}_${h} = vec4f(${c});`);
      }
    }
    // Each accumulator takes its 4 terms of this k-step in one statement (same order as one by
    // one), so it is loaded and stored once per step where it lives on the stack (llvmpipe).
    for (const j of rows) {
      for (const h of quads) {
        let sum = `acc${j}_${h}`;
        for (const t of [0, 1, 2, 3]) sum = `(${sum} + a${j}[${t}] * bt${t}_${h})`;
        L.push(`    acc${j}_${h} = ${sum};`);
      }
    }
    L.push("  }");
    L.push("  let yOff = bz * p.m * p.n;");
    for (const j of rows) {
      L.push(`  if (row0 + ${j}u < p.m) {\n    let yr = yOff + (row0 + ${j}u) * p.n + col0;`);
      for (const q of cols) {
        L.push(`    if (col0 + ${q}u < p.n) { Y[yr + ${q}u] = acc${j}_${q >> 2}[${q % 4}]; }`);
      }
      L.push("  }");
    }
    return `struct P { m: u32, n: u32, k4: u32, tilesM: u32, tilesN: u32, strideA4: u32, strideB4: u32,
  batch: u32 }
${UNIFORM_P}${readBuf(1, "A", "vec4f")}${readBuf(2, "B", "vec4f")}${writeBuf(3, "Y")}
${flatMain(L.join("\n"))}`;
  });
}
