/**
 * The decoder heads' epilogue (engine/ops/heads.ts) and its gradient, composed of the reference's
 * own kernels in the order model/network.ts once applied them op by op (sigmoid resp. π·tanh of
 * the central output padded to N × N, plus SiLU of the border output times the border mask, then
 * polar) and autograd then differentiated them, so CPU results are bit for bit the chain's.
 */
import type { HeadGeometry } from "../backend.ts";
import { binary, polar, unary } from "./elementwise.ts";
import { polarGrad } from "./complex.ts";
import { pad } from "./layout.ts";

/** The shapes of the chain: full (planes, 1, n, n), central (planes, 1, s, s), mask (1, 1, n, n). */
function shapes(g: HeadGeometry) {
  const { planes, n, side } = g, lo = (n - side) >> 1;
  return {
    full: [planes, 1, n, n],
    central: [planes, 1, side, side],
    maskShape: [1, 1, n, n],
    grow: [0, 0, lo, lo],
    shrink: [0, 0, -lo, -lo],
  };
}

/** 1 outside the central side × side window of an n × n plane, 0 inside. */
function borderMask(g: HeadGeometry): Float32Array {
  const { n, side } = g, lo = (n - side) >> 1;
  const mask = new Float32Array(n * n).fill(1);
  for (let y = lo; y < lo + side; y++) mask.fill(0, y * n + lo, y * n + lo + side);
  return mask;
}

/** One head: pad(f(central)) + silu(border)·mask, f the head's activation. */
function head(central: Float32Array, border: Float32Array, phase: boolean, g: HeadGeometry) {
  const s = shapes(g);
  const act = phase
    ? unary(unary(central, "tanh", 0, 0), "affine", Math.PI, 0)
    : unary(central, "sigmoid", 0, 0);
  const padded = pad(act, s.central, s.grow, s.grow);
  const edge = binary(
    unary(border, "silu", 0, 0),
    s.full,
    borderMask(g),
    s.maskShape,
    s.full,
    "mul",
  );
  return binary(padded, s.full, edge, s.full, s.full, "add");
}

/** Complex object (planes, n, n, 2) from the two heads' pre-activation outputs. */
export function objectFromHeads(
  ampCentral: Float32Array,
  ampBorder: Float32Array,
  phaseCentral: Float32Array,
  phaseBorder: Float32Array,
  g: HeadGeometry,
): Float32Array {
  return polar(head(ampCentral, ampBorder, false, g), head(phaseCentral, phaseBorder, true, g));
}

/** Gradient w.r.t. one head's central and border outputs (`phase`: the phase head's). */
export function objectFromHeadsGrad(
  grad: Float32Array,
  ampCentral: Float32Array,
  ampBorder: Float32Array,
  phaseCentral: Float32Array,
  phaseBorder: Float32Array,
  g: HeadGeometry,
  phase: boolean,
): { central: Float32Array; border: Float32Array } {
  const s = shapes(g);
  const amp = head(ampCentral, ampBorder, false, g);
  const d = polarGrad(grad, amp, head(phaseCentral, phaseBorder, true, g));
  const dHead = phase ? d.phase : d.amp;
  const cropped = pad(dHead, s.full, s.shrink, s.shrink);
  const central = phase
    ? binary(
      unary(cropped, "affine", Math.PI, 0),
      s.central,
      unary(phaseCentral, "tanh", 0, 0),
      s.central,
      s.central,
      "tanhGrad",
    )
    : binary(
      cropped,
      s.central,
      unary(ampCentral, "sigmoid", 0, 0),
      s.central,
      s.central,
      "sigmoidGrad",
    );
  const masked = binary(dHead, s.full, borderMask(g), s.maskShape, s.full, "mul");
  const border = binary(
    masked,
    s.full,
    phase ? phaseBorder : ampBorder,
    s.full,
    s.full,
    "siluGrad",
  );
  return { central, border };
}
