/**
 * The names of the elementwise and reduction ops, shared by the backend contract
 * (engine/backend.ts re-exports them) and the WGSL builders, so that shaders/ imports nothing
 * from engine/.
 */

/** Elementwise unary functions. `a` and `b` are the scalar parameters where one is used. */
export type UnaryOp =
  | "neg"
  | "exp"
  | "log"
  | "sqrt"
  | "square"
  | "abs"
  | "sign" // -1, 0, +1
  | "relu"
  | "step" // 1 where x > 0, else 0
  | "sigmoid"
  | "tanh"
  | "silu" // x * sigmoid(x)
  | "cos"
  | "sin"
  | "lgamma" // ln Γ(x) for x > 0
  | "clamp" // min(max(x, a), b)
  | "inRange" // 1 where a <= x <= b, else 0
  | "pow" // x^a (x >= 0, or integer a)
  | "affine"; // a * x + b

/** Elementwise binary functions, with numpy broadcasting of equal-rank shapes. */
export type BinaryOp =
  | "add"
  | "sub"
  | "mul"
  | "div"
  | "eq" // 1 where a == b, else 0
  | "gt" // 1 where a > b, else 0
  | "reluGrad" // a where b > 0, else 0 (the ReLU gradient, b being the ReLU's output)
  | "sigmoidGrad" // a·(b·(1 − b)): the sigmoid's gradient, b its output
  | "tanhGrad" // a·(1 − b²): tanh's gradient, b its output
  | "siluGrad" // a·(s + b·(s·(1 − s))), s = sigmoid(b): SiLU's gradient, b its input
  | "expand"; // a + 0 (b unused, of a's shape): a broadcast to the output shape

/** Reductions over the middle axis of an (outer, mid, inner) view. */
export type ReduceOp = "sum" | "max";
