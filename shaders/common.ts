/**
 * Pieces shared by the WGSL kernel builders.
 *
 * Binding convention for every kernel: `@binding(0)` is the uniform block `p` (sizes, strides,
 * scalar parameters), `@binding(1..)` are the storage buffers in the order the backend passes them.
 * One-dimensional kernels run over a 2-D grid of workgroups (WebGPU caps each grid dimension at
 * 65535 workgroups), and recover a flat invocation index `i` from it.
 */

/**
 * A kernel as a runtime sees it. `key` names the family and every parameter that changes the
 * WGSL text (`conv2d.direct/3x3/px32/ob16/vec4pad1`): equal keys mean equal text, so a runtime
 * caches pipelines by key and calls `wgsl()` only when it meets a key for the first time.
 */
export interface Kernel {
  /** Family and text-changing parameters, "/"-separated. */
  readonly key: string;
  /** Build the WGSL text. */
  wgsl(): string;
}

/** The kernel named `key` whose text `wgsl` builds (on demand). */
export function kernel(key: string, wgsl: () => string): Kernel {
  return { key, wgsl };
}

/** Workgroup size of the flat and grid-stride kernels. */
export const FLAT_WG = 64;

/**
 * Entry point of a flat kernel: `body` sees `i`, the flat invocation index, and must bound-check
 * it against its own element count.
 */
export function flatMain(body: string, wg: number = FLAT_WG): string {
  return `@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * ${wg}u + lid;
${body}
}
`;
}

/**
 * Entry point of a grid-stride kernel: `body` runs once per item `i` < `count` (a WGSL
 * expression over the uniforms) inside a helper function, so `return` ends that item only.
 * Launched with a capped number of workgroups (the runtime's `gridGroups`, lower on a CPU
 * adapter): on llvmpipe every workgroup costs about a microsecond of scheduling, which made
 * one-invocation-per-element kernels over millions of elements about 8× slower than looping
 * (ReLU over 4M values: 98 ms → 12 ms).
 * Each workgroup walks one contiguous range with its lanes side by side, so reads coalesce on
 * a GPU and each CPU thread of llvmpipe reads sequentially.
 */
export function gridMain(count: string, body: string, wg: number = FLAT_WG): string {
  return `fn item(i: u32) {
${body}
}
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let count = ${count};
  let groups = nwg.x * nwg.y;
  let per = ((count + groups - 1u) / groups + ${wg - 1}u) / ${wg}u * ${wg}u;
  let start = (wid.y * nwg.x + wid.x) * per;
  let end = min(start + per, count);
  for (var i = start + lid; i < end; i += ${wg}u) {
    item(i);
  }
}
`;
}

/**
 * Entry point of a multi-slot grid kernel: the grid runs over all slots' items back to back
 * (`count` in all; slot s owns items [end(s − 1), end(s)), `end` giving WGSL expressions) and
 * `bodies[s]` runs once per item of slot s with `j`, the item's index within its slot. Each
 * workgroup walks its range (as in {@link gridMain}) slot by slot, so all lanes of a workgroup
 * run the same slot's code: on llvmpipe a per-item branch over the slots runs every slot's body
 * masked (measured 4× slower at five slots).
 */
export function slotMain(count: string, bodies: string[], end: (s: number) => string): string {
  const loops = bodies.map((body, s) => {
    const first = s === 0 ? "0u" : end(s - 1);
    return `  {
    let base = ${first};
    for (var i = max(start, base) + lid; i < min(stop, ${end(s)}); i += ${FLAT_WG}u) {
      let j = i - base;
${body}
    }
  }`;
  }).join("\n");
  return `@compute @workgroup_size(${FLAT_WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let count = ${count};
  let groups = nwg.x * nwg.y;
  let per = ((count + groups - 1u) / groups + ${FLAT_WG - 1}u) / ${FLAT_WG}u * ${FLAT_WG}u;
  let start = (wid.y * nwg.x + wid.x) * per;
  let stop = min(start + per, count);
${loops}
}
`;
}

/**
 * WGSL `udiv(x, d)` = x / d for u32 (d from 1 to 2^31 − 1) and `umod`. Vector CPUs have no
 * integer divide, so llvmpipe runs `/` lane by lane; and it runs both sides of every `if` (masked,
 * no jump), so an integer-divide fallback inside a branch costs every call. Branch-free instead:
 * an f32 estimate q0 (off by at most about x·2⁻²² + 1), its remainder r0 = x − q0·d (exact in
 * wrapping u32 arithmetic and, as |r0| ≤ d + 1024 < 2³¹, exact as i32), one f32 correction by
 * floor(r0 / d), and a last ±1 from the exact remainder of that.
 */
export const UDIV_FNS = `fn udiv(x: u32, d: u32) -> u32 {
  let q0 = u32(f32(x) / f32(d));
  let r0 = i32(x - q0 * d);
  let q1 = u32(i32(q0) + i32(floor(f32(r0) / f32(d))));
  let r1 = i32(x - q1 * d);
  return select(select(q1, q1 + 1u, r1 >= i32(d)), q1 - 1u, r1 < 0);
}
fn umod(x: u32, d: u32) -> u32 { return x - udiv(x, d) * d; }
`;

/** A read-only f32 storage binding named `name` at `binding`. */
export function readBuf(binding: number, name: string, type = "f32"): string {
  return `@group(0) @binding(${binding}) var<storage, read> ${name}: array<${type}>;\n`;
}

/** A writable f32 storage binding named `name` at `binding`. */
export function writeBuf(binding: number, name: string, type = "f32"): string {
  return `@group(0) @binding(${binding}) var<storage, read_write> ${name}: array<${type}>;\n`;
}

/**
 * Texels per row of the textures kernels may read a storage through (rgba32uint, 4 KiB rows, a
 * multiple of the 256-byte pitch of buffer-to-texture copies): the storage's flat vec4 index t
 * sits at texel (t % TEXEL_ROW, t / TEXEL_ROW). On llvmpipe a load from a read-only storage
 * texture is an inline vectorised gather, about 3× cheaper than a storage-buffer load and 1.8× than
 * a sampled texture's `textureLoad` (docs/engine.md#storage-loads).
 */
export const TEXEL_ROW = 256;

/**
 * How a kernel binds its texel copies: `storage`, a read-only storage texture (needs WGSL's
 * `readonly_and_readwrite_storage_textures`; llvmpipe compiles its loads inline), or `sampled`, a
 * sampled texture (SwiftShader runs those faster). engine/webgpu/adapter_table.ts picks per
 * adapter.
 */
export type TexelKind = "storage" | "sampled";

/** The kernel-key tag of texel bindings of `kind`: "tex" (read-only storage) or "smp" (sampled). */
export function texelTag(kind: TexelKind): string {
  return kind === "sampled" ? "smp" : "tex";
}

/** A texel binding named `name` at `binding`, holding f32 values as texel bits. */
export function texelBuf(binding: number, name: string, kind: TexelKind = "storage"): string {
  const type = kind === "storage" ? "texture_storage_2d<rgba32uint, read>" : "texture_2d<u32>";
  return `@group(0) @binding(${binding}) var ${name}: ${type};\n`;
}

/** WGSL expression: the vec4f at flat vec4 index `index` of the texel binding `name`. */
export function texelAt(name: string, index: string, kind: TexelKind = "storage"): string {
  const at = `vec2u((${index}) % ${TEXEL_ROW}u, (${index}) / ${TEXEL_ROW}u)`;
  return `bitcast<vec4f>(textureLoad(${name}, ${at}${kind === "sampled" ? ", 0" : ""}))`;
}

/** The uniform block `p` of struct type `P` (declared by the caller) at binding 0. */
export const UNIFORM_P = "@group(0) @binding(0) var<uniform> p: P;\n";

/**
 * WGSL lines decoding grid item `i` of a (batch, h, w, inner) array with uniforms p.h, p.w,
 * p.inner into b, oy, ox, c (needs UDIV_FNS).
 */
export const DECODE_BHWC = `  let c = umod(i, p.inner);
  var t = udiv(i, p.inner);
  let ox = umod(t, p.w);
  t = udiv(t, p.w);
  let oy = umod(t, p.h);
  let b = udiv(t, p.h);`;

/** Maximum tensor rank of the strided (broadcast, permute, pad) kernels. */
export const MAX_RANK = 8;

/** WGSL expression reading axis `d` of a uniform `array<vec4u, 2>` field holding 8 values. */
export function at(field: string, d: string): string {
  return `${field}[(${d}) / 4u][(${d}) % 4u]`;
}

/** Pack up to 8 per-axis values into the 8 u32 slots of an `array<vec4u, 2>` uniform field. */
export function axes8(values: readonly number[]): number[] {
  const out = new Array(8).fill(0);
  values.forEach((v, d) => out[d] = v);
  return out;
}
