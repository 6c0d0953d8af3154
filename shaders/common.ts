/**
 * Pieces shared by the WGSL kernel builders.
 *
 * Binding convention for every kernel: `@binding(0)` is the uniform block `p` (sizes, strides,
 * scalar parameters), `@binding(1..)` are the storage buffers in the order the backend passes them.
 * One-dimensional kernels run over a 2-D grid of workgroups (WebGPU caps each grid dimension at
 * 65535 workgroups), and recover a flat invocation index `i` from it.
 */

/** Workgroup size of the flat (one invocation per output element) kernels. */
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

/** A read-only f32 storage binding named `name` at `binding`. */
export function readBuf(binding: number, name: string, type = "f32"): string {
  return `@group(0) @binding(${binding}) var<storage, read> ${name}: array<${type}>;\n`;
}

/** A writable f32 storage binding named `name` at `binding`. */
export function writeBuf(binding: number, name: string, type = "f32"): string {
  return `@group(0) @binding(${binding}) var<storage, read_write> ${name}: array<${type}>;\n`;
}

/** The uniform block `p` of struct type `P` (declared by the caller) at binding 0. */
export const UNIFORM_P = "@group(0) @binding(0) var<uniform> p: P;\n";

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
