/** The engine's public surface: tensors, ops, autograd, optimizers, schedules, RNG, backends. */
import { cpuBackend } from "./cpu/backend.ts";
import { setBackendFactory } from "./tensor.ts";

setBackendFactory(cpuBackend);

export type { Backend, FarFieldEps, Storage } from "./backend.ts";
export { getBackend, keep, setBackend, shapeSize, Tensor, tidy } from "./tensor.ts";
export { attachGrad, backward, noGrad } from "./autograd.ts";
export * from "./ops/index.ts";
export { Adam, type AdamOptions, type Optimizer, Sgd, type SgdOptions } from "./optim.ts";
export {
  ConstantLr,
  ExponentialLr,
  type LrScheduler,
  ReduceOnPlateauLr,
  WarmupCosineLr,
} from "./schedulers.ts";
export { Rng } from "./rng.ts";
export { cpuBackend } from "./cpu/backend.ts";
