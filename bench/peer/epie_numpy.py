"""Plain NumPy ePIE: the speed and quality peer of `deno task refine` (issue 14).

ePIE after Maiden & Rodenburg (2009), written for this project's NPZ contract (docs/physics.md#data-contract,
docs/refine.md): `diffraction` (or `diff3d`) (M, N, N) float32 amplitudes with the zero frequency
at (N/2, N/2); `probeGuess` / `probeGuess_facility` (N, N) complex; `xcoords`, `ycoords` (M,) in
object pixels, x = column, y = row; `objectGuess` optional (only widens the canvas so the result
lies in the object's frame).

Conventions: patch[i, j] = O(y - N/2 + i, x - N/2 + j); far field = fftshift(fft2(psi, "ortho")).
Sub-pixel positions: the object is cut at the integer part floor(y - N/2), floor(x - N/2); the probe
is moved by the fractional part with a Fourier phase ramp (content moves by +frac), which gives the
same far-field amplitude as sampling the object at the sub-pixel position. The object canvas covers
every patch plus a 4 px margin, starts flat (1 + 0i), and its pixel [0, 0] is the object pixel
`canvas_origin` of the JSON record.

Per iteration: one pass over all positions in a random order (numpy default_rng(seed)); for each
position psi = P_j * O_j, Psi = F psi, Psi' = A * Psi / |Psi|, d = F^-1 Psi' - psi, then
O_j += alpha * conj(P_j) d / max|P_j|^2 and, from iteration K on (1-based, --refine-probe-from K),
P += beta * shift_back(conj(O_j) d) / max|O_j|^2 with the object patch before its update. The probe
is held in Fourier space so that shifting it to a position and bringing its update back costs one
FFT each. The Fourier error of an iteration, R = sum (|Psi| - A)^2 / sum A^2, is summed during the
pass (each position's error before its own update), as ePIE codes report it; `fourier_error_final`
is R of the final object and probe, and --exact-error records R of the state after every iteration
(`fourier_error_exact`); both are computed outside the timed sections. --dtype complex64 (default)
or complex128 sets the object/probe arrays (NumPy < 2 computes its FFTs in double either way).

Single-threaded NumPy, as users run it (no thread settings). Usage:

    /usr/bin/python3 bench/peer/epie_numpy.py --data ../shared/data/siemens_star_64.npz \
        --iterations 30 --json out.json --save outdir
    /usr/bin/python3 bench/peer/epie_numpy.py --data ../shared/data/siemens_star_64.npz \
        --probe-key probeGuess_facility --refine-probe-from 5 --iterations 50 --json out.json

JSON record (--json OUT, written atomically; a summary line goes to stderr): tool, numpy, data,
probe_key, n_positions, N, canvas [H, W], canvas_origin [row, col], subpixel, dtype, iterations,
alpha, beta, refine_probe_from (null when off), seed, setup_seconds, iteration_seconds [..],
fourier_error [..] (one per iteration), total_seconds (sum of iteration_seconds), fourier_error_final,
fourier_error_exact [..] (only with --exact-error), saved ({} or the paths of object_amplitude.npy, object_phase.npy, probe.npy, object.png).
--save DIR writes the final object amplitude and phase (float32, whole canvas; the phase with the
global phase of the scanned area removed), the probe (complex64) and object.png (amplitude | phase
over the scanned area plus 10 px, 2x, each stretched between its 1st and 99th percentile).
Bad input: one line on stderr naming the file and the problem, exit 2, nothing written.
"""

import argparse
import json
import os
import struct
import sys
import tempfile
import time
import zlib

import numpy as np

MARGIN = 4


class InputError(Exception):
    """Bad input: reported as one line, exit 2."""


def load(path, probe_key):
    """Reads the NPZ; returns amplitudes (M, N, N), probe (N, N), x, y, object shape or None."""
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise InputError(f"{path}: cannot read as NPZ ({err})") from None
    with data:
        key = "diffraction" if "diffraction" in data.files else "diff3d"
        for needed in (key, probe_key, "xcoords", "ycoords"):
            if needed not in data.files:
                name = "'diffraction' or 'diff3d'" if needed == key else f"'{needed}'"
                raise InputError(f"{path}: missing key {name} (has {', '.join(data.files)})")
        amp = np.asarray(data[key], dtype=np.float32)
        probe = np.asarray(data[probe_key])
        x = np.asarray(data["xcoords"], dtype=np.float64).ravel()
        y = np.asarray(data["ycoords"], dtype=np.float64).ravel()
        obj_shape = data["objectGuess"].shape if "objectGuess" in data.files else None
    if amp.ndim == 4 and amp.shape[-1] == 1:
        amp = amp[..., 0]
    if amp.ndim == 3 and amp.shape[0] != x.size and amp.shape[2] == x.size:
        amp = np.transpose(amp, (2, 0, 1))
    if amp.ndim != 3 or amp.shape[1] != amp.shape[2]:
        raise InputError(f"{path}: '{key}' must be (M, N, N), got {amp.shape}")
    m, n = amp.shape[0], amp.shape[1]
    if x.size != m or y.size != m:
        raise InputError(f"{path}: {m} patterns but {x.size} xcoords and {y.size} ycoords")
    if probe.shape != (n, n):
        raise InputError(f"{path}: '{probe_key}' must be ({n}, {n}), got {probe.shape}")
    if not (np.isfinite(amp).all() and np.isfinite(x).all() and np.isfinite(y).all()):
        raise InputError(f"{path}: non-finite values in '{key}' or the coordinates")
    if (amp < 0).any():
        raise InputError(f"{path}: '{key}' holds negative amplitudes")
    if obj_shape is not None and len(obj_shape) != 2:
        raise InputError(f"{path}: 'objectGuess' must be 2-D, got {obj_shape}")
    return amp, probe, x, y, obj_shape


def geometry(x, y, n, obj_shape):
    """Canvas shape, origin (object pixel of canvas [0, 0]), integer corners, fractional parts."""
    top = y - n / 2
    left = x - n / 2
    row0 = np.floor(top)
    col0 = np.floor(left)
    lo_r, lo_c = int(row0.min()) - MARGIN, int(col0.min()) - MARGIN
    hi_r, hi_c = int(row0.max()) + n + MARGIN, int(col0.max()) + n + MARGIN
    if obj_shape is not None:
        lo_r, lo_c = min(lo_r, 0), min(lo_c, 0)
        hi_r, hi_c = max(hi_r, obj_shape[0]), max(hi_c, obj_shape[1])
    rows = (row0 - lo_r).astype(np.int64)
    cols = (col0 - lo_c).astype(np.int64)
    return (hi_r - lo_r, hi_c - lo_c), (lo_r, lo_c), rows, cols, top - row0, left - col0


def ramps(fy, fx, n, dtype):
    """Fourier phase ramps (M, N, N) moving content by (+fy, +fx), unshifted frequency order."""
    k = np.fft.fftfreq(n)
    ry = np.exp(-2j * np.pi * fy[:, None] * k[None, :])
    rx = np.exp(-2j * np.pi * fx[:, None] * k[None, :])
    return (ry[:, :, None] * rx[:, None, :]).astype(dtype)


def fourier_error(obj, probes, amp, rows, cols, n):
    """Exact R of the current state; probes is a callable j -> shifted probe."""
    num = 0.0
    for j in range(amp.shape[0]):
        psi = probes(j) * obj[rows[j] : rows[j] + n, cols[j] : cols[j] + n]
        num += float(np.sum(np.square(np.abs(np.fft.fft2(psi)) - amp[j]), dtype=np.float64))
    return num / float(np.sum(np.square(amp, dtype=np.float64)))


def epie(amp, probe, rows, cols, fy, fx, shape, args):
    """Runs ePIE; returns object, probe, per-iteration seconds, sweep errors, exact errors."""
    m, n = amp.shape[0], amp.shape[1]
    cdt = np.dtype(args.dtype)
    rdt = np.float32 if cdt == np.complex64 else np.float64
    # Unshifted frequency order and the unnormalized FFT: A scaled by N equals |fft2(psi)|.
    a = (np.fft.ifftshift(amp, axes=(1, 2)) * n).astype(rdt)
    tiny = rdt(np.finfo(rdt).tiny)
    obj = np.ones(shape, dtype=cdt)
    ramp = ramps(fy, fx, n, cdt)
    phat = np.fft.fft2(probe.astype(cdt))
    refine_from = args.refine_probe_from
    fixed = None
    if refine_from is None or refine_from > args.iterations:
        fixed = np.fft.ifft2(phat[None] * ramp).astype(cdt)
        step = args.alpha / np.max(np.abs(fixed) ** 2, axis=(1, 2))
        fixed_step = (np.conj(fixed) * step[:, None, None]).astype(cdt)
    sum_a2 = float(np.sum(np.square(a, dtype=np.float64)))
    if fixed is not None:
        probes = fixed.__getitem__
    else:
        probes = lambda j: np.fft.ifft2(phat * ramp[j])  # noqa: E731
    rng = np.random.default_rng(args.seed)
    seconds, errors, exact = [], [], []
    for it in range(1, args.iterations + 1):
        refine = refine_from is not None and it >= refine_from
        t0 = time.perf_counter()
        num = 0.0
        for j in rng.permutation(m):
            r, c = rows[j], cols[j]
            view = obj[r : r + n, c : c + n]
            pj = probes(j)
            psi = pj * view
            big = np.fft.fft2(psi)
            mag = np.abs(big)
            aj = a[j]
            diff = mag - aj
            num += float(np.dot(diff.ravel(), diff.ravel()))
            big *= aj / np.maximum(mag, tiny)
            d = np.fft.ifft2(big)
            d -= psi
            if fixed is not None:
                view += fixed_step[j] * d
                continue
            old = view.copy() if refine else view
            p2 = pj.real * pj.real + pj.imag * pj.imag
            view += (args.alpha / p2.max()) * np.conj(pj) * d
            if refine:
                o2 = old.real * old.real + old.imag * old.imag
                phat += np.fft.fft2((args.beta / o2.max()) * np.conj(old) * d) * np.conj(ramp[j])
        seconds.append(time.perf_counter() - t0)
        errors.append(num / sum_a2)
        if args.exact_error or it == args.iterations:
            exact.append(fourier_error(obj, probes, a, rows, cols, n))
    return obj, np.fft.ifft2(phat), seconds, errors, exact


def png_gray(path, img):
    """Writes an 8-bit grayscale PNG (img uint8 (H, W)) with zlib."""
    h, w = img.shape
    raw = b"".join(b"\x00" + img[i].tobytes() for i in range(h))

    def chunk(tag, body):
        crc = struct.pack(">I", zlib.crc32(tag + body) & 0xFFFFFFFF)
        return struct.pack(">I", len(body)) + tag + body + crc

    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
    data += chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(data)


def stretch(img):
    """Maps the 1st..99th percentile to 0..255."""
    lo, hi = np.percentile(img, [1, 99])
    return (np.clip((img - lo) / max(hi - lo, 1e-12), 0, 1) * 255 + 0.5).astype(np.uint8)


def save(out_dir, obj, probe, rows, cols, n):
    """Writes amplitude, phase, probe (.npy) and object.png; returns their paths."""
    os.makedirs(out_dir, exist_ok=True)
    # Scanned area: the probe centres' bounding box on the canvas plus 10 px.
    r0, r1 = max(int(rows.min()) + n // 2 - 10, 0), int(rows.max()) + n // 2 + 11
    c0, c1 = max(int(cols.min()) + n // 2 - 10, 0), int(cols.max()) + n // 2 + 11
    region = obj[r0:r1, c0:c1]
    phase = np.angle(obj * np.exp(-1j * np.angle(np.mean(region)))).astype(np.float32)
    amplitude = np.abs(obj).astype(np.float32)
    names = ("object_amplitude", "object_phase", "probe")
    paths = {name: os.path.join(out_dir, f"{name}.npy") for name in names}
    np.save(paths["object_amplitude"], amplitude)
    np.save(paths["object_phase"], phase)
    np.save(paths["probe"], probe.astype(np.complex64))
    left, right = stretch(amplitude[r0:r1, c0:c1]), stretch(phase[r0:r1, c0:c1])
    sep = np.full((left.shape[0], 4), 255, np.uint8)
    both = np.concatenate([left, sep, right], axis=1)
    paths["png"] = os.path.join(out_dir, "object.png")
    png_gray(paths["png"], np.repeat(np.repeat(both, 2, axis=0), 2, axis=1))
    return paths


def write_json(path, record):
    """Atomic write: a temporary file in the same folder, then rename."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".epie_", suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(record, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


class Parser(argparse.ArgumentParser):
    """Usage errors as one line on stderr, exit 2."""

    def error(self, message):
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        sys.exit(2)


def parse(argv):
    p = Parser(description="Plain NumPy ePIE (peer of `deno task refine`).")
    p.add_argument("--data", required=True, help="NPZ of the project's contract")
    p.add_argument("--iterations", type=int, default=30, help="passes over all positions (default 30)")
    p.add_argument("--probe-key", default="probeGuess", choices=("probeGuess", "probeGuess_facility"))
    p.add_argument("--refine-probe-from", type=int, default=None, metavar="K",
                   help="update the probe from iteration K on (1-based; default: probe fixed)")
    p.add_argument("--alpha", type=float, default=1.0, help="object step (default 1)")
    p.add_argument("--beta", type=float, default=1.0, help="probe step (default 1)")
    p.add_argument("--seed", type=int, default=0, help="position order seed (default 0)")
    p.add_argument("--dtype", default="complex64", choices=("complex64", "complex128"))
    p.add_argument("--exact-error", action="store_true",
                   help="also record R of the state after every iteration (computed outside the timing)")
    p.add_argument("--json", default=None, metavar="OUT", help="write the run record here")
    p.add_argument("--save", default=None, metavar="DIR", help="write object .npy files and object.png here")
    args = p.parse_args(argv)
    if args.iterations < 1:
        p.error("--iterations must be >= 1")
    if args.refine_probe_from is not None and args.refine_probe_from < 1:
        p.error("--refine-probe-from must be >= 1")
    if not (args.alpha > 0 and args.beta > 0):
        p.error("--alpha and --beta must be > 0")
    if args.json and not os.path.isdir(os.path.dirname(os.path.abspath(args.json))):
        p.error(f"--json {args.json}: folder does not exist")
    return args


def main(argv):
    args = parse(argv)
    t0 = time.perf_counter()
    try:
        amp, probe, x, y, obj_shape = load(args.data, args.probe_key)
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    n = amp.shape[1]
    shape, origin, rows, cols, fy, fx = geometry(x, y, n, obj_shape)
    setup = time.perf_counter() - t0
    obj, probe_out, seconds, errors, exact = epie(amp, probe, rows, cols, fy, fx, shape, args)
    saved = save(args.save, obj, probe_out, rows, cols, n) if args.save else {}
    record = {
        "tool": "epie_numpy",
        "numpy": np.__version__,
        "data": args.data,
        "probe_key": args.probe_key,
        "n_positions": int(amp.shape[0]),
        "N": int(n),
        "canvas": [int(shape[0]), int(shape[1])],
        "canvas_origin": [int(origin[0]), int(origin[1])],
        "subpixel": "probe shifted by the fractional part (Fourier ramp), object cut at floor",
        "dtype": args.dtype,
        "iterations": args.iterations,
        "alpha": args.alpha,
        "beta": args.beta,
        "refine_probe_from": args.refine_probe_from,
        "seed": args.seed,
        "setup_seconds": setup,
        "iteration_seconds": seconds,
        "fourier_error": errors,
        "total_seconds": float(sum(seconds)),
        "fourier_error_final": exact[-1],
        "saved": saved,
    }
    if args.exact_error:
        record["fourier_error_exact"] = exact
    if args.json:
        write_json(args.json, record)
    print(f"epie_numpy: {args.iterations} iterations in {sum(seconds):.2f} s, "
          f"R {errors[0]:.4f} -> {errors[-1]:.4f} (final state {exact[-1]:.4f})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
