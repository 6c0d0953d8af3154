/** An opaque handle to `size` f32 values owned by one backend (see engine/backend.ts). */
export interface Storage {
  /** Number of f32 elements. */
  readonly size: number;
}
