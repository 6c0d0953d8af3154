/**
 * Dispatch logic of the compute-heavy kernels: batched matmul and the three stride-1 conv2d
 * passes. Tiling choices are explained in shaders/matmul.ts and shaders/conv2d.ts.
 */
import type { Conv2dGeometry, MatmulDims } from "../backend.ts";
import { FLAT_WG } from "../../shaders/common.ts";
import { convDirectBlock, convDirectKernel, convWeightPrepKernel } from "../../shaders/conv2d.ts";
import {
  convGradFinishKernel,
  convGradWeightBlock,
  convGradWeightKernel,
  convGradWeightVec4Kernel,
} from "../../shaders/conv2d_grad.ts";
import { MATMUL_RM, MATMUL_RN, matmulKernel, matmulPackKernel } from "../../shaders/matmul.ts";
import { fillKernel } from "../../shaders/elementwise.ts";
import { reduceKernel } from "../../shaders/reduce.ts";
import {
  f32bits,
  type GpuRuntime,
  type GpuStorage,
  type GpuTexture,
  type WeightLayout,
} from "./runtime.ts";

const ceilDiv = (a: number, b: number) => Math.ceil(a / b);

/**
 * One matmul operand in k-major form (rows, kPad) per batch: the storage itself when it already
 * is (not transposed relative to k, k % 4 == 0), else a packed copy (`packed` true).
 */
function kMajor(
  rt: GpuRuntime,
  x: GpuStorage,
  batch: number,
  rows: number,
  k: number,
  rowsAlongK: boolean,
): { s: GpuStorage; packed: boolean } {
  if (rowsAlongK && k % 4 === 0) return { s: x, packed: false };
  const kPad = ceilDiv(k, 4) * 4;
  const n = batch * rows * kPad;
  const y = rt.alloc(n);
  const [rowStride, kStride] = rowsAlongK ? [k, 1] : [1, rows];
  const params = new Uint32Array([n, rows, k, kPad, rows * k, rowStride, kStride]);
  rt.dispatch(matmulPackKernel(), params, [x, y], rt.gridGroups(n));
  return { s: y, packed: true };
}

/** Batched matmul (see Kernels.matmul): pack both operands k-major, then the blocked kernel. */
export function matmul(rt: GpuRuntime, a: GpuStorage, b: GpuStorage, d: MatmulDims): GpuStorage {
  const batch = Math.max(d.batchA, d.batchB);
  const y = rt.alloc(batch * d.m * d.n);
  if (d.k === 0) {
    rt.dispatch(fillKernel(), new Uint32Array([y.size, 0]), [y], rt.gridGroups(y.size));
    return y;
  }
  const ak = kMajor(rt, a, d.batchA, d.m, d.k, !d.transA);
  const bk = kMajor(rt, b, d.batchB, d.n, d.k, d.transB);
  const k4 = ceilDiv(d.k, 4);
  const tilesM = ceilDiv(d.m, MATMUL_RM);
  const tilesN = ceilDiv(d.n, MATMUL_RN);
  const params = new Uint32Array([
    d.m,
    d.n,
    k4,
    tilesM,
    tilesN,
    d.batchA === 1 ? 0 : d.m * k4,
    d.batchB === 1 ? 0 : d.n * k4,
    batch,
  ]);
  rt.dispatch(matmulKernel(), params, [ak.s, bk.s, y], ceilDiv(batch * tilesM * tilesN, FLAT_WG));
  for (const op of [ak, bk]) if (op.packed) rt.free(op.s);
  return y;
}

/**
 * Weights re-laid as W[ot][ic][ky][kx][OB] (see shaders/conv2d.ts); with `flip`, the flipped,
 * channel-transposed kernel of the input gradient. The layout is kept with the weights and
 * rebuilt only when they changed since (an Adam step keeps it current itself, see
 * shaders/adam.ts), so a training step re-lays no weights and inference re-lays them once.
 */
function prepWeights(
  rt: GpuRuntime,
  w: GpuStorage,
  icn: number,
  ocn: number,
  kh: number,
  kw: number,
  flip: boolean,
  OB: number,
): WeightLayout {
  const dims = [icn, ocn, kh, kw] as const, form = [flip ? 1 : 0, OB] as const;
  const same = (a: readonly number[], b: readonly number[]) => a.every((v, k) => v === b[k]);
  let layout = w.layouts?.find((l) => same(l.dims, dims) && same(l.form, form));
  if (layout?.version === w.version) return layout;
  const n = ceilDiv(ocn, OB) * OB * icn * kh * kw;
  if (layout === undefined) {
    layout = { dims, form, s: rt.alloc(n), version: -1 };
    (w.layouts ??= []).push(layout);
  }
  const params = new Uint32Array([n, icn, ocn, kh, kw, form[0]]);
  rt.dispatch(convWeightPrepKernel(OB), params, [w, layout.s], rt.gridGroups(n));
  layout.version = w.version;
  // Rewritten in place: a texel copy of the old values is stale.
  layout.s.version++;
  return layout;
}

/**
 * The texel copy of `s` where the adapter's variants read conv operands as texels and one can be
 * made (see GpuRuntime.texelsOf), else null; `scratch` for a copy dropped right after its kernel
 * (every conv operand's now).
 */
function texels(rt: GpuRuntime, s: GpuStorage, scratch = false): GpuTexture | null {
  return rt.variants.convTextures ? rt.texelsOf(s, scratch) : null;
}

/**
 * Direct convolution of x (n, c, h, w) into (n, o, outH, outW), reading the weights w with
 * layout (o, c, kh, kw), or — with `flip` — the input-gradient kernel derived from weights of
 * layout (c, o, kh, kw).
 */
function direct(
  rt: GpuRuntime,
  x: GpuStorage,
  w: GpuStorage,
  g: Conv2dGeometry,
  flip: boolean,
  bias: GpuStorage | null = null,
  relu = false,
): GpuStorage {
  const { PX, OB } = convDirectBlock(g.outW, g.o);
  const layout = prepWeights(rt, w, g.c, g.o, g.kh, g.kw, flip, OB);
  const wTex = texels(rt, layout.s, true);
  const y = rt.alloc(g.n * g.o * g.outH * g.outW);
  const tilesX = ceilDiv(g.outW, PX);
  const tilesO = ceilDiv(g.o, OB);
  const params = new Uint32Array([
    g.n,
    g.c,
    g.h,
    g.w,
    g.o,
    g.outH,
    g.outW,
    g.padTop,
    g.padLeft,
    tilesX,
    tilesO,
    bias ? 1 : 0,
    relu ? 1 : 0,
  ]);
  const total = g.n * g.outH * tilesX * tilesO;
  // Aligned vec4 row loads when rows are a multiple of 4 long (see shaders/conv2d.ts).
  const vecPadLeft = g.w % 4 === 0 && PX % 4 === 0 ? g.padLeft : null;
  const xTex = vecPadLeft === null ? null : texels(rt, x, true);
  rt.dispatch(
    convDirectKernel(
      g.kh,
      g.kw,
      PX,
      OB,
      vecPadLeft,
      wTex !== null,
      xTex !== null,
      rt.variants.texelKind,
    ),
    params,
    // Without a bias, binding 4 gets the (read-only, unread) input as a stand-in.
    [xTex ?? x, wTex ?? layout.s, y, bias ?? x],
    ceilDiv(total, FLAT_WG),
  );
  // Both copies go back to the pool. A training step refreshes the weight layout's copy anyway
  // (Adam changes the weights every step); as scratch, the weight copies of every layer share
  // the activations' textures instead of keeping 18 MiB of their own (N = 64).
  rt.dropTexels(x);
  rt.dropTexels(layout.s);
  return y;
}

/** conv2d forward, with the bias and ReLU of a fused layer applied on store. */
export function conv2dForward(
  rt: GpuRuntime,
  x: GpuStorage,
  w: GpuStorage,
  g: Conv2dGeometry,
  bias: GpuStorage | null = null,
  relu = false,
): GpuStorage {
  return direct(rt, x, w, g, false, bias, relu);
}

/** conv2d input gradient: the direct convolution of dy with the flipped, transposed kernel. */
export function conv2dGradInput(
  rt: GpuRuntime,
  dy: GpuStorage,
  w: GpuStorage,
  g: Conv2dGeometry,
): GpuStorage {
  return direct(rt, dy, w, {
    n: g.n,
    c: g.o,
    h: g.outH,
    w: g.outW,
    o: g.c,
    kh: g.kh,
    kw: g.kw,
    padTop: g.kh - 1 - g.padTop,
    padLeft: g.kw - 1 - g.padLeft,
    outH: g.h,
    outW: g.w,
  }, true);
}

/**
 * Whether the weight-gradient kernel can give the bias gradient too: its invocations of kernel
 * row padTop see every output row only when no output row lies below the input.
 */
export function fusedBiasGradient(g: Conv2dGeometry): boolean {
  return g.padTop < g.kh && g.outH <= g.h;
}

/**
 * conv2d weight gradient (and, with `bias`, the bias gradient Σ dy per output channel; needs
 * {@link fusedBiasGradient}): row-chunk partials summed in a fixed order.
 */
export function conv2dGradWeight(
  rt: GpuRuntime,
  x: GpuStorage,
  dy: GpuStorage,
  g: Conv2dGeometry,
  bias = false,
): { dw: GpuStorage; db: GpuStorage | null } {
  const { gradWeightMaxOB, gradWeightMaxCB, gradWeightInvocations } = rt.variants;
  const { OB, CB } = convGradWeightBlock(g.o, g.c, gradWeightMaxOB, gradWeightMaxCB);
  const tilesO = ceilDiv(g.o, OB);
  const tilesC = ceilDiv(g.c, CB);
  const taps = g.kh * g.kw;
  const perSplit = tilesO * g.kh * tilesC;
  const rows = g.n * g.outH;
  const wanted = Math.min(Math.max(1, rows), ceilDiv(gradWeightInvocations, perSplit));
  const rowsPerSplit = Math.max(1, ceilDiv(rows, wanted));
  const splits = Math.max(1, ceilDiv(rows, rowsPerSplit));
  const size = g.o * g.c * taps;
  const part = rt.alloc(splits * size);
  const bpart = rt.alloc(splits * g.o);
  const params = new Uint32Array([
    g.n,
    g.c,
    g.h,
    g.w,
    g.o,
    g.outH,
    g.outW,
    g.padTop,
    g.padLeft,
    g.kh,
    tilesO,
    tilesC,
    rowsPerSplit,
    splits,
  ]);
  // Rows a multiple of 4 long: the all-vec4 kernel (about 1.5× faster on llvmpipe), reading x and
  // dy as texels where both have them. The copies go back to the pool after the dispatch: kept with
  // their activations they raised the train smoke's peak RSS by about a third (batch 16).
  const vec = g.w % 4 === 0 && g.outW % 4 === 0;
  const xTex = vec ? texels(rt, x, true) : null;
  const dyTex = xTex ? texels(rt, dy, true) : null;
  const tex = xTex !== null && dyTex !== null;
  rt.dispatch(
    vec
      ? convGradWeightVec4Kernel(g.kw, OB, CB, g.padLeft, tex, rt.variants.texelKind)
      : convGradWeightKernel(g.kw, OB, CB),
    params,
    [tex ? xTex : x, tex ? dyTex : dy, part, bpart],
    ceilDiv(splits * perSplit, FLAT_WG),
  );
  rt.dropTexels(x);
  rt.dropTexels(dy);
  if (splits === 1) {
    if (!bias) rt.free(bpart);
    return { dw: part, db: bias ? bpart : null };
  }
  const dw = rt.alloc(size);
  if (bias) {
    const db = rt.alloc(g.o);
    deferFinish(rt, { part, bpart, dw, db, dims: [size, g.o, splits, 0] });
    return { dw, db };
  }
  const sumParams = new Uint32Array([1, splits, size, splits, 1, f32bits(-Infinity), f32bits(1)]);
  rt.dispatch(reduceKernel("sum"), sumParams, [part, dw], rt.gridGroups(size));
  rt.free(part);
  rt.free(bpart);
  return { dw, db: null };
}

/** A layer's split partials waiting to be summed into its weight and bias gradients. */
interface FinishJob {
  part: GpuStorage;
  bpart: GpuStorage;
  dw: GpuStorage;
  db: GpuStorage;
  /** (size, o, splits, 0): see convGradFinishKernel. */
  dims: number[];
}

/** Each runtime's finish jobs not yet recorded. */
const finishQueues = new WeakMap<GpuRuntime, FinishJob[]>();

/**
 * Partials bytes a finish queue may hold before it runs: the queued partials stay allocated
 * until their finish, so without a bound a backward pass held every layer's (110 MiB of the
 * full model's 378 MiB peak at N = 64, batch 16). 64 MiB keeps a full-model step at 150 dispatches
 * (16 MiB: 153) for 25 MiB more peak RSS in the seed's train smoke (docs/engine.md).
 */
export const FINISH_QUEUE_BYTES = 2 ** 26;

/**
 * Queue a layer's gradient finish: it runs, batched with every other queued layer, when a
 * gradient is first used (in training, the Adam step) or when the queued partials pass
 * {@link FINISH_QUEUE_BYTES}, so the layers of one backward pass share a few dispatches (as many
 * layers each as 4 storage buffers per layer and the uniform block allow) instead of one each.
 */
function deferFinish(rt: GpuRuntime, job: FinishJob): void {
  let queue = finishQueues.get(rt);
  if (queue === undefined) finishQueues.set(rt, queue = []);
  queue.push(job);
  rt.defer([job.dw, job.db], () => runFinishes(rt));
  const bytes = queue.reduce((sum, j) => sum + j.part.buffer.size + j.bpart.buffer.size, 0);
  if (bytes > FINISH_QUEUE_BYTES) runFinishes(rt);
}

/** Record every queued finish of `rt`, then release the partials. */
function runFinishes(rt: GpuRuntime): void {
  const jobs = finishQueues.get(rt)!.splice(0);
  rt.settled(jobs.flatMap((j) => [j.dw, j.db]));
  const limit = rt.device.limits.maxStorageBuffersPerShaderStage;
  // Uniform words: 4 + 4 per 4 slot ends + 4 per slot, within the 256-byte block.
  const k = Math.max(1, Math.min(Math.floor(limit / 4), 11));
  // Layers whose weight and bias counts are multiples of 4 are summed as vec4 items.
  const isVec = (j: FinishJob) => j.dims[0] % 4 === 0 && j.dims[1] % 4 === 0;
  for (const vec of [true, false]) {
    const group = jobs.filter((j) => isVec(j) === vec);
    for (let first = 0; first < group.length; first += k) {
      const chunk = group.slice(first, first + k);
      const ends: number[] = [];
      let n = 0;
      for (const j of chunk) ends.push(n += (j.dims[0] + j.dims[1]) / (vec ? 4 : 1));
      while (ends.length % 4 !== 0) ends.push(n);
      const params = new Uint32Array([n, 0, 0, 0, ...ends, ...chunk.flatMap((j) => j.dims)]);
      const bufs = chunk.flatMap((j) => [j.part, j.bpart, j.dw, j.db]);
      rt.dispatch(convGradFinishKernel(chunk.length, vec), params, bufs, rt.gridGroups(n));
    }
  }
  for (const j of jobs) {
    rt.free(j.part);
    rt.free(j.bpart);
  }
}
