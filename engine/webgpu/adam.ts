/**
 * Dispatch logic of the multi-parameter Adam step (kernel: shaders/adam.ts): parameters are
 * grouped by their number of current re-laid copies (conv weights, see linalg.ts) and item
 * width, and each group is updated as many parameters per dispatch as the device's storage
 * buffer limit (3 + copies bindings per parameter, one more with a moving average) and the
 * 256-byte uniform block allow.
 */
import type { AdamParams } from "../backend.ts";
import { adamKernel, adamUniformWords } from "../../shaders/adam.ts";
import { f32bits, type GpuRuntime, type GpuStorage, type WeightLayout } from "./runtime.ts";

/** One parameter of an Adam step on the device. */
export interface GpuAdamSlot {
  /** Parameter. */
  p: GpuStorage;
  /** Gradient. */
  g: GpuStorage;
  /** Both moments, [m | v]. */
  mv: GpuStorage;
  /** Moving average of the parameter, or null. */
  e: GpuStorage | null;
}

/** One parameter of a dispatch: the slot, its current re-laid copies, its item width. */
interface AdamItem {
  slot: GpuAdamSlot;
  layouts: WeightLayout[];
  vec: boolean;
}

/** u32 words of one uniform block (the runtime's arena hands out 256-byte blocks). */
const UNIFORM_WORDS = 64;

/**
 * Adam/AdamW on every slot, in place, keeping each parameter's current re-laid copies current
 * (they are written too and keep pace with the parameter's version). A parameter listed twice
 * starts a new dispatch (no writable binding may alias another), so slot order is kept.
 */
export function adamStep(rt: GpuRuntime, slots: readonly GpuAdamSlot[], h: AdamParams): void {
  const groups = new Map<string, AdamItem[]>();
  for (const slot of slots) {
    const p = slot.p;
    // Copies whose sizes fit the kernel's 16-bit fields; others go stale and are re-laid.
    const layouts = (p.layouts ?? [])
      .filter((l) => l.version === p.version && [...l.dims, ...l.form].every((d) => d < 65536))
      .slice(0, 2);
    const vec = p.size % 4 === 0;
    const key = `${layouts.length}/${vec}/${slot.e !== null}`;
    groups.set(key, [...groups.get(key) ?? [], { slot, layouts, vec }]);
  }
  const limit = rt.device.limits.maxStorageBuffersPerShaderStage;
  for (const items of groups.values()) {
    const copies = items[0].layouts.length as 0 | 1 | 2;
    const ema = items[0].slot.e !== null;
    let k = Math.max(1, Math.floor(limit / (3 + (ema ? 1 : 0) + copies)));
    while (k > 1 && adamUniformWords(k, copies, ema) > UNIFORM_WORDS) k--;
    let chunk: AdamItem[] = [];
    const written = new Set<GpuStorage>();
    for (const item of items) {
      const { p, mv, e } = item.slot;
      const writes = [p, mv, ...(e === null ? [] : [e]), ...item.layouts.map((l) => l.s)];
      if (chunk.length === k || writes.some((s) => written.has(s))) {
        adamDispatch(rt, chunk, copies, h);
        chunk = [];
        written.clear();
      }
      chunk.push(item);
      for (const s of writes) written.add(s);
    }
    adamDispatch(rt, chunk, copies, h);
  }
}

/** One dispatch of the Adam kernel over `items` (same copy count and item width). */
function adamDispatch(rt: GpuRuntime, items: AdamItem[], copies: 0 | 1 | 2, h: AdamParams): void {
  const vec = items[0].vec;
  const ema = items[0].slot.e !== null;
  const ends: number[] = [];
  let n = 0;
  for (const it of items) ends.push(n += vec ? it.slot.p.size / 4 : it.slot.p.size);
  while (ends.length % 4 !== 0) ends.push(n);
  const hyper = [h.lr, h.beta1, h.beta2, h.eps, h.weightDecay, h.biasCorrection1];
  const lay = items.flatMap((it) =>
    it.layouts.flatMap(({ dims: [icn, ocn, kh, kw], form: [flip, ob] }) => [
      icn | (ocn << 16),
      kh | (kw << 16),
      flip | (ob << 16),
      0,
    ])
  );
  const params = new Uint32Array([
    n,
    ...[...hyper, h.biasCorrection2].map(f32bits),
    ...(ema ? [f32bits(h.emaDecay), 0, 0, 0] : []),
    ...ends,
    ...lay,
  ]);
  const bufs = items.flatMap(({ slot, layouts }) => [
    slot.p,
    slot.g,
    slot.mv,
    ...(slot.e === null ? [] : [slot.e]),
    ...layouts.map((l) => l.s),
  ]);
  rt.dispatch(adamKernel(vec, copies, items.length, ema), params, bufs, rt.gridGroups(n));
  for (const { slot, layouts } of items) {
    slot.p.version++;
    slot.mv.version++;
    if (slot.e !== null) slot.e.version++;
    for (const l of layouts) {
      l.version = slot.p.version;
      l.s.version++;
    }
  }
}
