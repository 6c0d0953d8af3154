/**
 * The result files for the tools scientists already use, shared by `infer` and `refine`:
 * `reconstructed_amplitude.tif` / `reconstructed_phase.tif` (32-bit float, NaN where no patch
 * reached; ImageJ/Fiji) and `reconstruction.h5`, the HDF5 twin of `reconstruction.npz`, laid out
 * the CXI way so that h5py, silx view or HDFView users find it where they look:
 *
 * - `entry_1/image_1/data`: the stitched object, float32 (H, W, 2) = (real, imaginary) (h5wasm
 *   cannot write HDF5 complex compounds; `data[..., 0] + 1j * data[..., 1]` in NumPy);
 *   `amplitude`, `phase` (H, W) float32; `coverage` (patches per pixel, 0 = not reconstructed);
 *   `origin_xy` (object column, row of pixel (0, 0)); attributes `units` and, for CXI input,
 *   `x_pixel_size`/`y_pixel_size` in metres;
 * - `entry_1/image_1/probe`: the probe the model used, float32 (N, N, 2);
 * - `entry_1/data_1/positions_xy`: where each predicted group was placed, (G, 2) (x = column,
 *   y = row) in object pixels;
 * - attributes of `entry_1`: the run's settings (numbers and strings as they are, anything else as
 *   JSON), and `data_source` (the scan's format and unit conversions, JSON) when not a plain .npz.
 */
import type { ScanSource } from "../io/dataset.ts";
import type { Hdf5Contents } from "../io/hdf5_write.ts";
import { encodeFloat32Tiff } from "../io/tiff.ts";
import type { StitchedObject } from "../model/infer/stitch.ts";
import { stitchedChannels } from "./infer_output.ts";

/** What the files hold: the stitched object, where its patches sat, and the probe used. */
export interface ReconstructionResult {
  /** The object on the object's pixel grid. */
  stitched: StitchedObject;
  /** Columns of the patch (or group) positions, object pixels. */
  xcoords: ArrayLike<number>;
  /** Rows of the patch (or group) positions, object pixels. */
  ycoords: ArrayLike<number>;
  /** The probe (N, N) complex interleaved. */
  probe: Float32Array;
  /** N. */
  n: number;
}

/** The two TIFFs and reconstruction.h5, by file name. */
export async function beamlineOutputs(
  result: ReconstructionResult,
  source: ScanSource | undefined,
  settings: Record<string, unknown>,
): Promise<Map<string, Uint8Array>> {
  const { amplitude, phase } = stitchedChannels(result.stitched);
  return new Map([
    ["reconstructed_amplitude.tif", encodeFloat32Tiff(amplitude)],
    ["reconstructed_phase.tif", encodeFloat32Tiff(phase)],
    ["reconstruction.h5", await reconstructionHdf5(result, source, settings)],
  ]);
}

/**
 * The bytes of `reconstruction.h5` (see the module comment). h5wasm is loaded on first use, so
 * the commands that write no HDF5 do not pay its start-up.
 */
export async function reconstructionHdf5(
  result: ReconstructionResult,
  source: ScanSource | undefined,
  settings: Record<string, unknown>,
): Promise<Uint8Array> {
  const { stitched, probe, n } = result;
  const { height, width, data, coverage } = stitched;
  const amplitude = new Float32Array(height * width);
  const phase = new Float32Array(height * width);
  for (let i = 0; i < height * width; i++) {
    amplitude[i] = Math.hypot(data[2 * i], data[2 * i + 1]);
    phase[i] = Math.atan2(data[2 * i + 1], data[2 * i]);
  }
  const groups = result.xcoords.length;
  const positions = new Float64Array(2 * groups);
  for (let g = 0; g < groups; g++) {
    positions[2 * g] = result.xcoords[g];
    positions[2 * g + 1] = result.ycoords[g];
  }
  const imageAttrs: Record<string, number | string> = { units: "object pixels" };
  const pixel = source?.conversions.object_pixel_size_m;
  if (Array.isArray(pixel)) {
    imageAttrs.x_pixel_size = pixel[0];
    imageAttrs.y_pixel_size = pixel[1];
  }
  const entryAttrs: Record<string, number | string> = { program: "ptycho infer" };
  for (const [key, value] of Object.entries(settings)) {
    entryAttrs[key] = typeof value === "number" || typeof value === "string"
      ? value
      : JSON.stringify(value);
  }
  if (source !== undefined) entryAttrs.data_source = JSON.stringify(source);
  const contents: Hdf5Contents = {
    datasets: {
      "entry_1/image_1/data": {
        data: Float32Array.from(data),
        shape: [height, width, 2],
        attrs: { layout: "last axis = (real, imaginary)" },
        chunks: [Math.min(height, 256), Math.min(width, 256), 2],
      },
      "entry_1/image_1/amplitude": { data: amplitude, shape: [height, width] },
      "entry_1/image_1/phase": { data: phase, shape: [height, width], attrs: { units: "rad" } },
      "entry_1/image_1/coverage": { data: Float32Array.from(coverage), shape: [height, width] },
      "entry_1/image_1/origin_xy": {
        data: Float64Array.of(stitched.originX, stitched.originY),
        shape: [2],
      },
      "entry_1/image_1/probe": {
        data: Float32Array.from(probe),
        shape: [n, n, 2],
        attrs: { layout: "last axis = (real, imaginary)" },
      },
      "entry_1/data_1/positions_xy": {
        data: positions,
        shape: [groups, 2],
        attrs: { units: "object pixels", layout: "(x = column, y = row)" },
      },
    },
    groupAttrs: { "entry_1": entryAttrs, "entry_1/image_1": imageAttrs },
  };
  const { encodeHdf5 } = await import("../io/hdf5_write.ts");
  return encodeHdf5(contents);
}
