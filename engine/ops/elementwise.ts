/** Elementwise ops: unary functions and broadcasting binary arithmetic, with their gradients. */
import type { BinaryOp, UnaryOp } from "../backend.ts";
import { commonBackend, record } from "../autograd.ts";
import type { Tensor } from "../tensor.ts";
import { broadcastShapes, padShape, sumProductTo, sumTo } from "./broadcast.ts";
import { scalar } from "./create.ts";

function unary(
  x: Tensor,
  op: UnaryOp,
  grad: ((gy: Tensor, y: Tensor) => Tensor) | null,
  a = 0,
  b = 0,
): Tensor {
  const storage = x.backend.unary(x.storage, op, a, b);
  const y: Tensor = record(
    op,
    [x],
    x.backend,
    storage,
    x.shape,
    grad && ((gy) => [grad(gy, y)]),
  );
  return y;
}

function noGradient(op: string): (gy: Tensor) => Tensor {
  return () => {
    throw new Error(`${op} has no gradient (forward only)`);
  };
}

/** -x */
export const neg = (x: Tensor): Tensor => unary(x, "neg", (g) => neg(g));
/** e^x */
export const exp = (x: Tensor): Tensor => unary(x, "exp", (g, y) => mul(g, y));
/** Natural logarithm. */
export const log = (x: Tensor): Tensor => unary(x, "log", (g) => div(g, x));
/** Square root. */
export const sqrt = (x: Tensor): Tensor => unary(x, "sqrt", (g, y) => mul(div(g, y), 0.5));
/** x² */
export const square = (x: Tensor): Tensor => unary(x, "square", (g) => mul(g, mul(x, 2)));
/** |x| (gradient sign(x), 0 at 0). */
export const abs = (x: Tensor): Tensor => unary(x, "abs", (g) => mul(g, sign(x)));
/** sign(x) ∈ {-1, 0, 1} (no gradient). */
export const sign = (x: Tensor): Tensor => unary(x, "sign", null);
/** 1 where x > 0, else 0 (no gradient). */
export const step = (x: Tensor): Tensor => unary(x, "step", null);
/** max(x, 0); its gradient is one {@link reluGrad} pass on the output. */
export const relu = (x: Tensor): Tensor => unary(x, "relu", (g, y) => reluGrad(g, y));
/** Logistic sigmoid; its gradient g·y(1 − y) is one pass. */
export const sigmoid = (x: Tensor): Tensor =>
  unary(x, "sigmoid", (g, y) => activationGrad(g, y, "sigmoidGrad"));
/** Hyperbolic tangent; its gradient g·(1 − y²) is one pass. */
export const tanh = (x: Tensor): Tensor =>
  unary(x, "tanh", (g, y) => activationGrad(g, y, "tanhGrad"));
/** swish / SiLU: x·sigmoid(x); its gradient g·(s + x·s(1 − s)) is one pass. */
export const silu = (x: Tensor): Tensor =>
  unary(x, "silu", (g) => activationGrad(g, x, "siluGrad"));
/** Alias of {@link silu}. */
export const swish: (x: Tensor) => Tensor = silu;
/** cos x */
export const cos = (x: Tensor): Tensor => unary(x, "cos", (g) => neg(mul(g, sin(x))));
/** sin x */
export const sin = (x: Tensor): Tensor => unary(x, "sin", (g) => mul(g, cos(x)));
/** ln Γ(x) for x > 0 (forward only). */
export const lgamma = (x: Tensor): Tensor => unary(x, "lgamma", noGradient("lgamma"));
/** min(max(x, lo), hi); the gradient passes where lo ≤ x ≤ hi. */
export const clamp = (x: Tensor, lo: number, hi = Infinity): Tensor =>
  unary(x, "clamp", (g) => mul(g, unary(x, "inRange", null, lo, hi)), lo, hi);
/** x^p for a scalar p. */
export const pow = (x: Tensor, p: number): Tensor =>
  unary(x, "pow", (g) => mul(g, mul(pow(x, p - 1), p)), p);
/** a·x + b for scalars a, b. */
export const affine = (x: Tensor, a: number, b: number): Tensor =>
  unary(x, "affine", (g) => mul(g, a), a, b);

function binary(
  a: Tensor,
  b: Tensor,
  op: BinaryOp,
  grad: ((gy: Tensor, needs: readonly boolean[]) => (Tensor | null)[]) | null,
): Tensor {
  const backend = commonBackend(op, [a, b]);
  const outShape = broadcastShapes(a.shape, b.shape);
  const rank = outShape.length;
  const storage = backend.binary(
    a.storage,
    padShape(a.shape, rank),
    b.storage,
    padShape(b.shape, rank),
    outShape,
    op,
  );
  return record(op, [a, b], backend, storage, outShape, grad);
}

/** a + b (broadcasting; either may be a number). */
export function add(a: Tensor | number, b: Tensor | number): Tensor {
  if (typeof a === "number") return add(b, a);
  if (typeof b === "number") return affine(a, 1, b);
  return binary(
    a,
    b,
    "add",
    (g, n) => [n[0] ? sumTo(g, a.shape) : null, n[1] ? sumTo(g, b.shape) : null],
  );
}

/** a - b (broadcasting; either may be a number). */
export function sub(a: Tensor | number, b: Tensor | number): Tensor {
  if (typeof b === "number") return typeof a === "number" ? scalar(a - b) : affine(a, 1, -b);
  if (typeof a === "number") return affine(b, -1, a);
  return binary(a, b, "sub", (g, n) => [
    n[0] ? sumTo(g, a.shape) : null,
    n[1] ? sumTo(neg(g), b.shape) : null,
  ]);
}

/** a · b (broadcasting; either may be a number). */
export function mul(a: Tensor | number, b: Tensor | number): Tensor {
  if (typeof a === "number") return mul(b, a);
  if (typeof b === "number") return affine(a, b, 0);
  // Where the other factor has g's shape, a broadcast factor's gradient Σ g·other is one pass.
  const grad = (g: Tensor, other: Tensor, shape: readonly number[]) =>
    other.shape.join() === g.shape.join()
      ? sumProductTo(g, other, shape, mul)
      : sumTo(mul(g, other), shape);
  return binary(a, b, "mul", (g, n) => [
    n[0] ? grad(g, b, a.shape) : null,
    n[1] ? grad(g, a, b.shape) : null,
  ]);
}

/** a / b (broadcasting; either may be a number). */
export function div(a: Tensor | number, b: Tensor | number): Tensor {
  if (typeof b === "number") return affine(a as Tensor, 1 / b, 0);
  if (typeof a === "number") return mul(pow(b, -1), a);
  return binary(a, b, "div", (g, n) => [
    n[0] ? sumTo(div(g, b), a.shape) : null,
    n[1] ? sumTo(neg(div(mul(g, a), square(b))), b.shape) : null,
  ]);
}

/**
 * An activation's gradient from the incoming gradient g and the activation's output (sigmoid,
 * tanh) or input (SiLU), in one pass; these rules are not differentiated further.
 */
function activationGrad(g: Tensor, v: Tensor, op: "sigmoidGrad" | "tanhGrad" | "siluGrad"): Tensor {
  return binary(g, v, op, () => {
    throw new Error(`${op}: second-order gradients are not supported`);
  });
}

/**
 * The ReLU gradient in one pass: g where y > 0, else 0, with y the ReLU's output (same mask as
 * its input's, since y > 0 exactly where x > 0). Linear in g; y only selects.
 */
export function reluGrad(g: Tensor, y: Tensor): Tensor {
  return binary(g, y, "reluGrad", (gg, n) => [n[0] ? sumTo(reluGrad(gg, y), g.shape) : null, null]);
}

/** 1 where a == b, else 0 (broadcasting, no gradient). */
export function eq(a: Tensor, b: Tensor): Tensor {
  return binary(a, b, "eq", null);
}

/** 1 where a > b, else 0 (broadcasting, no gradient). */
export function gt(a: Tensor, b: Tensor): Tensor {
  return binary(a, b, "gt", null);
}
