/**
 * Complex ops on real tensors whose last axis is (re, im), plus the FFT, fftshift and the
 * bilinear image translation. All gradients are ordinary real gradients of a real loss.
 */
import { commonBackend, record } from "../autograd.ts";
import { shapeSize, type Tensor } from "../tensor.ts";
import { tensor } from "./create.ts";
import { broadcastShapes, padShape, sumTo } from "./broadcast.ts";
import { mul } from "./elementwise.ts";
import { stack } from "./join.ts";
import { reshape, slice } from "./shape.ts";

function checkComplex(op: string, z: Tensor): void {
  if (z.rank < 1 || z.shape[z.rank - 1] !== 2) {
    throw new Error(`${op}: expected a complex tensor (last axis 2), got [${z.shape}]`);
  }
}

/** Complex tensor from real and imaginary parts of equal shape: [..., 2]. */
export function complex(re: Tensor, im: Tensor): Tensor {
  return stack([re, im], -1);
}

/** Real part: [..., 2] → [...]. */
export function real(z: Tensor): Tensor {
  checkComplex("real", z);
  return reshape(
    slice(z, [...new Array(z.rank - 1).fill(0), 0], [...z.shape.slice(0, -1), 1]),
    z.shape.slice(0, -1),
  );
}

/** Imaginary part: [..., 2] → [...]. */
export function imag(z: Tensor): Tensor {
  checkComplex("imag", z);
  return reshape(
    slice(z, [...new Array(z.rank - 1).fill(0), 1], [...z.shape.slice(0, -1), 1]),
    z.shape.slice(0, -1),
  );
}

/** Complex conjugate. */
export function conj(z: Tensor): Tensor {
  checkComplex("conj", z);
  const signs = tensor([1, -1], [2], { backend: z.backend });
  return mul(z, signs);
}

/** |z|²: [..., 2] → [...], one kernel (and one for its gradient 2·z·g). */
export function abs2(z: Tensor): Tensor {
  checkComplex("abs2", z);
  const backend = z.backend;
  const storage = backend.abs2(z.storage);
  return record("abs2", [z], backend, storage, z.shape.slice(0, -1), (g) => [
    record("abs2Grad", [z, g], backend, backend.abs2Grad(z.storage, g.storage), z.shape, () => {
      throw new Error("abs2Grad: second-order gradients are not supported");
    }),
  ]);
}

/** Complex product a·b (or a·conj(b)) with broadcasting over the leading axes. */
export function cmul(a: Tensor, b: Tensor, conjB = false): Tensor {
  checkComplex("cmul", a);
  checkComplex("cmul", b);
  const backend = commonBackend("cmul", [a, b]);
  const outShape = broadcastShapes(a.shape, b.shape);
  const rank = outShape.length;
  const storage = backend.cmul(
    a.storage,
    padShape(a.shape, rank),
    b.storage,
    padShape(b.shape, rank),
    outShape,
    conjB,
  );
  return record("cmul", [a, b], backend, storage, outShape, (g, needs) => [
    needs[0] ? sumTo(cmul(g, b, !conjB), a.shape) : null,
    needs[1] ? sumTo(conjB ? cmul(a, g, true) : cmul(g, a, true), b.shape) : null,
  ]);
}

/** amp·e^{iφ} as [..., 2], from amplitude and phase of equal shape. */
export function polar(amp: Tensor, phase: Tensor): Tensor {
  const backend = commonBackend("polar", [amp, phase]);
  if (amp.shape.join() !== phase.shape.join()) {
    throw new Error(`polar: amplitude [${amp.shape}] and phase [${phase.shape}] differ`);
  }
  const storage = backend.polar(amp.storage, phase.storage);
  return record("polar", [amp, phase], backend, storage, [...amp.shape, 2], (g, needs) => {
    // g·e^{-iφ}: real part → d amp, imaginary part · amp → d φ, both from one kernel.
    const d = backend.polarGrad(g.storage, amp.storage, phase.storage);
    const second = () => {
      throw new Error("polarGrad: second-order gradients are not supported");
    };
    const grads = [d.amp, d.phase].map((s, k) => {
      if (needs[k]) return record("polarGrad", [g, amp, phase], backend, s, amp.shape, second);
      backend.release(s);
      return null;
    });
    return grads;
  });
}

/** FFT normalisation: "ortho" (1/√(hw) both ways) or "backward" (1 forward, 1/(hw) inverse). */
export type FftNorm = "ortho" | "backward";

function fftCore(z: Tensor, inverse: boolean, norm: FftNorm): Tensor {
  checkComplex(inverse ? "ifft2" : "fft2", z);
  if (z.rank < 3) throw new Error(`fft2: expected [..., h, w, 2], got [${z.shape}]`);
  const [h, w] = z.shape.slice(-3, -1);
  const pow2 = (v: number) => v > 0 && (v & (v - 1)) === 0;
  if (!pow2(h) || !pow2(w)) throw new Error(`fft2: sizes must be powers of two, got ${h}×${w}`);
  const batch = shapeSize(z.shape.slice(0, -3));
  const scale = norm === "ortho" ? 1 / Math.sqrt(h * w) : inverse ? 1 / (h * w) : 1;
  const storage = z.backend.fft2(z.storage, batch, h, w, inverse, scale);
  // The adjoint of scale·F is scale·Fᴴ: the opposite transform with the same scale.
  return record(inverse ? "ifft2" : "fft2", [z], z.backend, storage, z.shape, (g) => [
    adjointFft(g, !inverse, scale, batch, h, w),
  ]);
}

function adjointFft(
  g: Tensor,
  inverse: boolean,
  scale: number,
  batch: number,
  h: number,
  w: number,
): Tensor {
  const storage = g.backend.fft2(g.storage, batch, h, w, inverse, scale);
  return record("fft2Adjoint", [g], g.backend, storage, g.shape, (gg) => [
    adjointFft(gg, !inverse, scale, batch, h, w),
  ]);
}

/** 2-D DFT over axes (-3, -2) of a complex tensor [..., h, w, 2]. */
export function fft2(z: Tensor, norm: FftNorm = "ortho"): Tensor {
  return fftCore(z, false, norm);
}

/** Inverse 2-D DFT over axes (-3, -2) of a complex tensor [..., h, w, 2]. */
export function ifft2(z: Tensor, norm: FftNorm = "ortho"): Tensor {
  return fftCore(z, true, norm);
}

function roll(x: Tensor, isComplex: boolean, sign: 1 | -1, op: string): Tensor {
  const inner = isComplex ? 2 : 1;
  const spatial = isComplex ? x.shape.slice(-3, -1) : x.shape.slice(-2);
  if (spatial.length !== 2) {
    throw new Error(`${op}: expected at least 2 spatial axes, got [${x.shape}]`);
  }
  const [h, w] = spatial;
  const batch = x.size / (h * w * inner);
  const sy = sign * Math.floor(h / 2), sx = sign * Math.floor(w / 2);
  const storage = x.backend.roll2d(x.storage, batch, h, w, inner, sy, sx);
  return record(
    op,
    [x],
    x.backend,
    storage,
    x.shape,
    (g) => [roll(g, isComplex, sign === 1 ? -1 : 1, op + "Adjoint")],
  );
}

/** Move the zero frequency to (⌊h/2⌋, ⌊w/2⌋) over the two spatial axes. */
export function fftshift(x: Tensor, isComplex = true): Tensor {
  return roll(x, isComplex, 1, "fftshift");
}

/** Inverse of {@link fftshift} (differs from it for odd sizes). */
export function ifftshift(x: Tensor, isComplex = true): Tensor {
  return roll(x, isComplex, -1, "ifftshift");
}

/**
 * Bilinear translation of each image of x by its own offset: x (b, h, w) real or (b, h, w, k)
 * with k interleaved channels (k = 2: complex); offsets (b, 2) = (tx, ty) pixels, content moves
 * by +t, zero fill. Gradient w.r.t. the images only.
 */
export function translate(x: Tensor, offsets: Tensor): Tensor {
  if (x.rank !== 3 && x.rank !== 4) {
    throw new Error(`translate: expected (b, h, w[, k]), got [${x.shape}]`);
  }
  const [b, h, w] = x.shape;
  const inner = x.rank === 4 ? x.shape[3] : 1;
  if (offsets.size !== 2 * b) {
    throw new Error(`translate: offsets [${offsets.shape}] do not match batch ${b}`);
  }
  return translateCore(x, offsets, b, h, w, inner, false);
}

function translateCore(
  x: Tensor,
  offsets: Tensor,
  b: number,
  h: number,
  w: number,
  inner: number,
  adjoint: boolean,
): Tensor {
  const backend = commonBackend("translate", [x, offsets]);
  const storage = backend.translate(x.storage, offsets.storage, b, h, w, inner, adjoint);
  return record(adjoint ? "translateAdjoint" : "translate", [x], backend, storage, x.shape, (g) => [
    translateCore(g, offsets, b, h, w, inner, !adjoint),
  ]);
}
