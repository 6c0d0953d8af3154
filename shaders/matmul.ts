/**
 * Batched matmul, register blocked: each invocation computes an 8-row × 8-column block of the
 * output (8 rows × 2 vec4 accumulators) and walks k on its own, with no shared memory.
 *
 * Why this shape: llvmpipe runs a workgroup on one CPU thread with 8-wide SIMD across lanes, and
 * there a big per-invocation register block (64 FMAs per 8 A loads and 2 vec4 B loads) is what
 * makes matmul fast; shared-memory tiles with barriers are 10-20× slower (LLVMPIPE.md). On a real
 * GPU the same kernel keeps neighbouring lanes on neighbouring column blocks, so B reads coalesce
 * and A reads are broadcast.
 *
 * Variants (each its own WGSL text, hence its own pipeline): transA, transB, and `vecB`, where B
 * is read as vec4 rows (needs !transB and n % 4 == 0). Out-of-range rows/columns are clamped on
 * read and skipped on write, so any m, n, k work.
 */
import { flatMain, readBuf, UNIFORM_P, writeBuf } from "./common.ts";

/** Rows and columns of the output block owned by one invocation. */
export const MATMUL_BLOCK = 8;

/** Matmul kernel text; uniforms (m, n, k, tilesM, tilesN, strideA, strideB, batch). */
export function matmulWgsl(transA: boolean, transB: boolean, vecB: boolean): string {
  const R = MATMUL_BLOCK;
  const rows = [...Array(R).keys()];
  const lines: string[] = [];
  lines.push(`  let total = p.batch * p.tilesM * p.tilesN;
  if (i >= total) { return; }
  let ct = i % p.tilesN;
  let t = i / p.tilesN;
  let rt = t % p.tilesM;
  let bz = t / p.tilesM;
  let row0 = rt * ${R}u;
  let col0 = ct * ${R}u;
  let aOff = bz * p.strideA;
  let bOff = bz * p.strideB;`);
  for (const j of rows) {
    const r = `min(row0 + ${j}u, p.m - 1u)`;
    lines.push(transA ? `  let ar${j} = aOff + ${r};` : `  let ar${j} = aOff + ${r} * p.k;`);
    lines.push(`  var acc${j}a = vec4f(0.0);\n  var acc${j}b = vec4f(0.0);`);
  }
  if (vecB) {
    lines.push(`  let n4 = p.n / 4u;
  let c4a = col0 / 4u;
  let c4b = min(c4a + 1u, n4 - 1u);
  var bRow = bOff / 4u;`);
  } else {
    for (const q of rows) {
      const c = `min(col0 + ${q}u, p.n - 1u)`;
      lines.push(transB ? `  let bc${q} = bOff + ${c} * p.k;` : `  let bc${q} = ${c};`);
    }
    if (!transB) lines.push("  var bRow = bOff;");
  }
  if (transA) lines.push("  var aRow = 0u;");
  lines.push("  for (var kk = 0u; kk < p.k; kk++) {");
  if (vecB) {
    lines.push("    let b0 = B[bRow + c4a];\n    let b1 = B[bRow + c4b];\n    bRow += n4;");
  } else {
    const ld = (q: number) => transB ? `B[bc${q} + kk]` : `B[bRow + bc${q}]`;
    lines.push(`    let b0 = vec4f(${ld(0)}, ${ld(1)}, ${ld(2)}, ${ld(3)});`);
    lines.push(`    let b1 = vec4f(${ld(4)}, ${ld(5)}, ${ld(6)}, ${ld(7)});`);
    if (!transB) lines.push("    bRow += p.n;");
  }
  for (const j of rows) {
    lines.push(`    let a${j} = A[${transA ? `aRow + ar${j}` : `ar${j} + kk`}];`);
    lines.push(`    acc${j}a += a${j} * b0;\n    acc${j}b += a${j} * b1;`);
  }
  if (transA) lines.push("    aRow += p.m;");
  lines.push("  }");
  lines.push("  let yOff = bz * p.m * p.n;");
  for (const j of rows) {
    lines.push(`  if (row0 + ${j}u < p.m) {\n    let yr = yOff + (row0 + ${j}u) * p.n + col0;`);
    for (const q of rows) {
      const v = `acc${j}${q < 4 ? "a" : "b"}[${q % 4}]`;
      lines.push(`    if (col0 + ${q}u < p.n) { Y[yr + ${q}u] = ${v}; }`);
    }
    lines.push("  }");
  }
  return `struct P { m: u32, n: u32, k: u32, tilesM: u32, tilesN: u32, strideA: u32, strideB: u32,
  batch: u32 }
${UNIFORM_P}${readBuf(1, "A")}${readBuf(2, "B", vecB ? "vec4f" : "f32")}${writeBuf(3, "Y")}
${flatMain(lines.join("\n"))}`;
}
