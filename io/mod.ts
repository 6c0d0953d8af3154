/** The I/O layer's public surface: NumPy files, the dataset contract, images, plots, bundles. */
export { PtychoInputError } from "./errors.ts";
export {
  type ArrayLayout,
  type ArraySource,
  DEFAULT_NPHOTONS,
  loadDataset,
  type LoadDatasetOptions,
  minimumPositions,
  type PtychoDataset,
  readDataset,
  type ScanSource,
} from "./dataset.ts";
export { loadScan, type LoadScanOptions } from "./scan_file.ts";
export type { CxiOptions } from "./cxi.ts";
export { encodeFloat32Tiff } from "./tiff.ts";
export {
  decodeNpy,
  encodeNpy,
  type NpyArray,
  type NpyData,
  type NpyDtype,
  readNpyFile,
  writeNpyFile,
} from "./npy.ts";
export type { NpyHeader } from "./npy_header.ts";
export {
  encodeNpz,
  type NamedArrays,
  NpzReader,
  openNpz,
  readNpzFile,
  writeNpzFile,
} from "./npz.ts";
export {
  BUNDLE_FORMAT_VERSION,
  type BundleContents,
  type BundleManifest,
  type BundleParameter,
  type BundleParameters,
  decodeBundle,
  encodeBundle,
  loadBundle,
  type ModelBundle,
  type ParameterShapes,
  saveBundle,
} from "./bundle.ts";
export {
  type ColormapOptions,
  encodeColormapPng,
  encodeGrayPng,
  encodeRgbPng,
  finiteRange,
  type RealImage,
  renderColormap,
  type RgbImage,
  type ValueRange,
} from "./png.ts";
export { colormapLut, type ColormapName } from "./colormap.ts";
export { lossCurveSvg, type LossHistory, type LossPlotOptions } from "./loss_plot.ts";
