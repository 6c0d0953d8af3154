/** The model layer's public surface: PtychoPINN, its physics, data preparation and evaluation. */
export { type Batch, type BatchLoss, type PinnConfig, PtychoPinn } from "./pinn.ts";
export {
  Generator,
  type NetworkConfig,
  parameterCount,
  parameterShapes,
  SUPPORTED_N,
} from "./network.ts";
export {
  canvasSize,
  diffract,
  diffractIntensity,
  exitWaves,
  extractFromPatch,
  extractPatches,
  farFieldIntensity,
  illuminate,
  mergePatches,
  type MergeWindow,
  overlapConstraint,
} from "./physics.ts";
export { autoMergeWindow, probeShareOutsideCentre, WIDE_PROBE_SHARE } from "./merge_window.ts";
export { amplitudeMae, type LossKind, poissonNll, poissonNllReported } from "./losses.ts";
export {
  type GroupingOptions,
  type GroupOrder,
  groupPositions,
  type Groups,
  type SeedMember,
} from "./grouping.ts";
export { initialIntensityScale, normalizationFactor, normalizeProbe } from "./normalize.ts";
export {
  type AlignOptions,
  type ChannelMetrics,
  type ComplexImage,
  type EvaluateOptions,
  evaluateReconstruction,
  type ReconstructionMetrics,
  type ScanBounds,
} from "./evaluate/metrics.ts";
export { defaultStitchCrop, type StitchedObject, stitchPatches } from "./infer/stitch.ts";
export {
  type InferOptions,
  probeStitchWeights,
  reconstruct,
  type Reconstruction,
  type StitchWeighting,
} from "./infer/infer.ts";
export { type ObjectKind, simulateDataset, type SimulationRecipe } from "./simulate/dataset.ts";
export type { SimulatedDataset, SimulationResult } from "./simulate/simulate.ts";
export type { InterleavedImage as ObjectImage } from "../io/image.ts";
export type { ScanPositions } from "./simulate/scan.ts";
export {
  decodeModelBundle,
  encodeModelBundle,
  loadModelBundle,
  modelFromBundle,
  type PinnManifest,
} from "./model_bundle.ts";
