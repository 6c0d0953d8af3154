/**
 * A CXI entry's geometry in SI units: detector distance z, pixel sizes p_x, p_y and the
 * wavelength λ (from the photon energy E as λ = h·c/E, or a stored wavelength), and the object
 * pixel they give, Δ = λ·z / (N·p).
 *
 * Units: CXI stores lengths in metres and energy in joules. A `units` attribute naming another
 * unit is honoured (lengths m, mm, um/µm/micron, nm, Å/angstrom, pm; energy J, eV, keV; any
 * case). Without one, a value that cannot be in CXI's unit is read by its size or refused:
 *
 * - energy ≤ 1e-12 is joules; 100 … 1e6 is eV and 0.1 … 100 is keV (PtyPy's unit), each with a
 *   warning; anything else is an error asking for a `units` attribute;
 * - a distance above 100, a pixel size above 0.01 or a wavelength above 1e-5 cannot be metres
 *   (millimetres or micrometres written without units): an error asking for a `units` attribute.
 *
 * A value stored as an array (one per pattern, as some beamlines write) is read when all its
 * entries agree to 1e-9; one that changes during the scan is an error.
 */
import type { AttrValue, Hdf5Reader } from "./hdf5.ts";
import { realToFloat64 } from "./npy_convert.ts";

const PLANCK = 6.62607015e-34; // J·s
const LIGHT_SPEED = 299792458; // m/s
const ELECTRON_VOLT = 1.602176634e-19; // J

/** Metres per unit, by lower-case unit name. */
const LENGTH_UNITS: Record<string, number> = {
  m: 1,
  meter: 1,
  meters: 1,
  metre: 1,
  metres: 1,
  mm: 1e-3,
  millimeter: 1e-3,
  millimeters: 1e-3,
  um: 1e-6,
  "µm": 1e-6,
  "μm": 1e-6,
  micron: 1e-6,
  microns: 1e-6,
  micrometer: 1e-6,
  micrometers: 1e-6,
  nm: 1e-9,
  nanometer: 1e-9,
  nanometers: 1e-9,
  "å": 1e-10,
  a: 1e-10,
  angstrom: 1e-10,
  angstroms: 1e-10,
  pm: 1e-12,
};

/** Joules per unit, by lower-case unit name. */
const ENERGY_UNITS: Record<string, number> = {
  j: 1,
  joule: 1,
  joules: 1,
  ev: ELECTRON_VOLT,
  electronvolt: ELECTRON_VOLT,
  electronvolts: ELECTRON_VOLT,
  kev: 1e3 * ELECTRON_VOLT,
  kiloelectronvolt: 1e3 * ELECTRON_VOLT,
  kiloelectronvolts: 1e3 * ELECTRON_VOLT,
};

/** Reports a problem with the dataset at `path`; never returns. */
export type CxiFail = (path: string, problem: string) => never;

/** The geometry of one CXI entry (see the module comment). */
export interface CxiGeometry {
  /** Object pixel size along x (columns), metres. */
  pixelX: number;
  /** Object pixel size along y (rows), metres. */
  pixelY: number;
  /** What was read and derived, for the run's records. */
  record: Record<string, unknown>;
}

/**
 * Reads distance, pixel sizes and energy (or wavelength) under `entry` and derives the object
 * pixel for N × N patterns.
 */
export function readGeometry(
  h5: Hdf5Reader,
  entry: string,
  n: number,
  fail: CxiFail,
  warn: (message: string) => void,
): CxiGeometry {
  const detector = `${entry}/instrument_1/detector_1`;
  const distance = length(h5, `${detector}/distance`, "detector distance", 100, fail);
  const px = length(h5, `${detector}/x_pixel_size`, "pixel size", 0.01, fail);
  const py = h5.has(`${detector}/y_pixel_size`)
    ? length(h5, `${detector}/y_pixel_size`, "pixel size", 0.01, fail)
    : px;
  const { wavelength, record } = readWavelength(h5, `${entry}/instrument_1`, fail, warn);
  const pixelX = wavelength * distance / (n * px);
  const pixelY = wavelength * distance / (n * py);
  return {
    pixelX,
    pixelY,
    record: {
      detector_distance_m: distance,
      detector_pixel_size_m: [px, py],
      ...record,
      wavelength_m: wavelength,
      object_pixel_size_m: [pixelX, pixelY],
      object_pixel_rule: "Δ = λ·z / (N·p), λ = h·c / E",
    },
  };
}

/**
 * λ from the photon energy (`source_1/energy`, or NeXus's `beam_1/incident_energy` as PyNX adds),
 * or from a wavelength (`source_1/wavelength`, `beam_1/incident_wavelength`) when there is none.
 */
function readWavelength(
  h5: Hdf5Reader,
  instrument: string,
  fail: CxiFail,
  warn: (message: string) => void,
): { wavelength: number; record: Record<string, unknown> } {
  const energies = [`${instrument}/source_1/energy`, `${instrument}/beam_1/incident_energy`];
  const wavelengths = [
    `${instrument}/source_1/wavelength`,
    `${instrument}/beam_1/incident_wavelength`,
  ];
  const energyPath = h5.first(energies);
  if (energyPath === null) {
    const wavelengthPath = h5.first(wavelengths) ??
      fail(energies[0], `missing, nor is there a wavelength ('${wavelengths[0]}', λ is needed)`);
    const wavelength = length(h5, wavelengthPath, "wavelength", 1e-5, fail);
    const energy = PLANCK * LIGHT_SPEED / wavelength;
    return {
      wavelength,
      record: { wavelength_from: wavelengthPath, photon_energy_eV: energy / ELECTRON_VOLT },
    };
  }
  const raw = scalar(h5, energyPath, fail);
  const units = h5.attr(energyPath, "units");
  let joules: number;
  let rule: string;
  if (units !== null) {
    const factor = ENERGY_UNITS[String(units).trim().toLowerCase()] ??
      fail(energyPath, `unknown units '${units}' (expected J, eV or keV)`);
    joules = raw * factor;
    rule = `units attribute '${units}'`;
  } else if (raw <= 1e-12) {
    joules = raw;
    rule = "no units attribute: joules (CXI)";
  } else {
    const unit = raw >= 100 && raw <= 1e6 ? "eV" : raw >= 0.1 && raw < 100 ? "keV" : null;
    if (unit === null) {
      fail(
        energyPath,
        `${raw} is no photon energy in joules (CXI's unit) nor plausibly in eV or keV: add a ` +
          `units attribute (h5py: f['${energyPath}'].attrs['units'] = 'eV')`,
      );
    }
    joules = raw * ENERGY_UNITS[unit.toLowerCase()];
    rule = `no units attribute and too large for joules (CXI): read as ${unit} by its size`;
    warn(`'${energyPath}' = ${raw} has no units attribute; read as ${unit} (CXI says joules)`);
  }
  return {
    wavelength: PLANCK * LIGHT_SPEED / joules,
    record: {
      photon_energy_J: joules,
      photon_energy_eV: joules / ELECTRON_VOLT,
      energy_units: rule,
    },
  };
}

/**
 * A positive length in metres: the dataset times its `units` attribute's factor; without one,
 * metres, unless the value exceeds `maxMetres` (a unit written without its attribute).
 */
function length(
  h5: Hdf5Reader,
  path: string,
  what: string,
  maxMetres: number,
  fail: CxiFail,
): number {
  if (!h5.has(path)) fail(path, `missing (the ${what} is needed for positions in object pixels)`);
  const value = scalar(h5, path, fail);
  const units = h5.attr(path, "units");
  if (units === null && value > maxMetres) {
    fail(
      path,
      `a ${what} of ${value} m is implausible (CXI stores metres): add a units attribute ` +
        `(h5py: f['${path}'].attrs['units'] = 'mm' or 'um')`,
    );
  }
  return value * (lengthUnit(units) ??
    fail(path, `unknown units '${units}' (expected m, mm, um, nm or angstrom)`));
}

/** Metres per unit of a length `units` attribute (absent = metres), or null if unknown. */
export function lengthUnit(units: AttrValue): number | null {
  if (units === null) return 1;
  return LENGTH_UNITS[String(units).trim().toLowerCase()] ?? null;
}

/** One positive finite number: a scalar, or an array whose entries all agree. */
function scalar(h5: Hdf5Reader, path: string, fail: CxiFail): number {
  const a = h5.get(path);
  if (typeof a.data[0] === "string" || a.data.length === 0) {
    fail(path, `expected a number, got ${a.dtype} (${a.shape})`);
  }
  const values = realToFloat64(a);
  let lo = Infinity, hi = -Infinity;
  for (const v of values) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  if (!(lo > 0) || !Number.isFinite(hi)) {
    fail(path, `expected a positive number, got ${values.length > 1 ? `${lo} … ${hi}` : lo}`);
  }
  if (hi - lo > 1e-9 * hi) {
    fail(
      path,
      `${values.length} values that change during the scan (${lo} … ${hi}); one is needed`,
    );
  }
  return values[0];
}
