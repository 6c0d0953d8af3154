"""PtychoPINN in plain PyTorch: the benchmark peer of `deno task bench`.

The same model and physics as docs/physics.md, written independently of the TypeScript code:

* generator (docs/physics.md#network): the TF CNN, NCHW, n_filters_scale 2, sigmoid amplitude head, pi*tanh phase head,
  pad_object and probe_big on (central path + swish border path under a border mask),
  object_big = gridsize > 1; Glorot-uniform weights, zero biases;
* physics (A1, B4): per-group masked merge onto an M x M canvas (M = N + (gs-1)*4 + 10) and
  re-extraction, bilinear translation that moves content by +t (explicit floor/fraction weights,
  zero fill), probe illumination, |fftshift(fft2_ortho(.))|, predicted intensity (s*A)^2;
* loss (docs/physics.md#losses): Poisson NLL mean over elements (lambda - k log lambda, lambda clamped >= 1e-8); Adam.

Usage (prints one JSON object on stdout):

    python3 pytorch_ptychopinn.py --measure golden
    python3 pytorch_ptychopinn.py --measure train_gs2 --repeats 5
    python3 pytorch_ptychopinn.py --measure train_gs1|infer|smoke_train|smoke_infer|all
    python3 pytorch_ptychopinn.py train --data d.npz --out dir [--n-groups 16 --epochs 1]
    python3 pytorch_ptychopinn.py infer --model dir --data d.npz --out dir [--n-images 16]
    python3 pytorch_ptychopinn.py simulate --out d.npz   # random patterns for the smokes

`deno task bench` runs one process per measurement (one warm-up step, then the timed steps), so no
measurement inherits another's allocator state, models or threads. Each throughput figure also
reports `cores_busy`: process CPU seconds over wall seconds per timed block (about the thread count
when the peer had the cores to itself).
"""

import argparse
import atexit
import ctypes
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
from torch import nn

GOLDEN_DIR = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "data", "forward_golden"
)
DEFAULT_NPHOTONS = 1e9
PROBE_SCALE = 4.0
SELF = os.path.abspath(__file__)
GNU_TIME = "/usr/bin/time"
SMOKE_FIXTURE = os.path.join(os.path.dirname(SELF), "..", "..", "fixtures", "sim_lines_n64.npz")


# ---------------------------------------------------------------------------------------------
# Generator (docs/physics.md#network)
# ---------------------------------------------------------------------------------------------


def conv3x3(c_in, c_out):
    """A 3x3 'same' convolution with Keras default init (Glorot uniform, zero bias)."""
    conv = nn.Conv2d(c_in, c_out, 3, padding=1)
    nn.init.xavier_uniform_(conv.weight)
    nn.init.zeros_(conv.bias)
    return conv


class ConvBlock(nn.Module):
    """conv-ReLU, conv-ReLU, then the subclass's resampling."""

    def __init__(self, c_in, c_out):
        super().__init__()
        self.conv1 = conv3x3(c_in, c_out)
        self.conv2 = conv3x3(c_out, c_out)

    def resample(self, x):
        raise NotImplementedError

    def forward(self, x):
        return self.resample(torch.relu(self.conv2(torch.relu(self.conv1(x)))))


class ConvPool(ConvBlock):
    """Encoder block: conv-ReLU, conv-ReLU, 2x2 max pool."""

    def resample(self, x):
        return nn.functional.max_pool2d(x, 2)


class ConvUp(ConvBlock):
    """Decoder block: conv-ReLU, conv-ReLU, nearest 2x upsampling."""

    def resample(self, x):
        return nn.functional.interpolate(x, scale_factor=2, mode="nearest")


class DecoderHead(nn.Module):
    """pad_object + probe_big head: central N/2 core (activation, zero pad) + swish border."""

    BORDER_CHANNELS = 4

    def __init__(self, c_in, c_out, n, nfs, activation):
        super().__init__()
        nfs_border = nfs * 2048 // n
        self.central = conv3x3(c_in - self.BORDER_CHANNELS, c_out)
        self.border_up = ConvUp(self.BORDER_CHANNELS, nfs_border)
        self.border = conv3x3(nfs_border, c_out)
        self.activation = activation
        self.pad = n // 4
        mask = torch.ones(1, 1, n, n)
        mask[..., n // 4 : 3 * n // 4, n // 4 : 3 * n // 4] = 0.0
        self.register_buffer("border_mask", mask)

    def forward(self, x):
        core = self.activation(self.central(x[:, : -self.BORDER_CHANNELS]))
        core = nn.functional.pad(core, (self.pad,) * 4)
        border = nn.functional.silu(self.border(self.border_up(x[:, -self.BORDER_CHANNELS :])))
        return core + border * self.border_mask


class Generator(nn.Module):
    """The TF PtychoPINN CNN: encoder + amplitude and phase decoders; outputs (amp, phase)."""

    def __init__(self, n=64, gridsize=2, nfs=2):
        super().__init__()
        ladders = {64: [32, 64, 128], 128: [16, 32, 64, 128], 256: [8, 16, 32, 64, 128]}
        enc = [nfs * f for f in ladders[n]]
        dec = [nfs * f for f in reversed(ladders[n][:-1])]  # N=64: [64,32] * nfs
        channels = gridsize * gridsize
        c_out = channels if gridsize > 1 else 1
        blocks, c = [], channels
        for f in enc:
            blocks.append(ConvPool(c, f))
            c = f
        self.encoder = nn.Sequential(*blocks)

        def decoder_base():
            ups, c_in = [], enc[-1]
            for f in dec:
                ups.append(ConvUp(c_in, f))
                c_in = f
            return nn.Sequential(*ups)

        self.amp_base, self.phase_base = decoder_base(), decoder_base()
        self.amp_head = DecoderHead(dec[-1], c_out, n, nfs, torch.sigmoid)
        self.phase_head = DecoderHead(dec[-1], c_out, n, nfs, lambda t: math.pi * torch.tanh(t))

    def forward(self, x):
        z = self.encoder(x)
        return self.amp_head(self.amp_base(z)), self.phase_head(self.phase_base(z))


def parameter_count(model):
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# ---------------------------------------------------------------------------------------------
# Physics (docs/physics.md#forward-model)
# ---------------------------------------------------------------------------------------------


def canvas_size(n, gridsize):
    """M = N + (gs-1)*4 + 10 (docs/physics.md#canvas-size)."""
    return n + (gridsize - 1) * 4 + 10


def interp_matrix(t, n_out, n_in, shift):
    """Bilinear 1-D resampling as (..., n_out, n_in) matrices.

    out[o] = in(o - t - shift) sampled bilinearly with zero fill: the content moves by +t
    (then by -shift in index space). Weights come from explicit floor/fraction in pixel units,
    so pixels between the two corners get exactly zero weight. `t` has shape (...,), float64.
    """
    src = torch.arange(n_out, dtype=torch.float64) - shift  # (n_out,)
    src = src - t[..., None]  # (..., n_out)
    lo = torch.floor(src)
    frac = (src - lo)[..., None]
    cols = torch.arange(n_in, dtype=torch.float64)
    w = (1.0 - frac) * (cols == lo[..., None]) + frac * (cols == lo[..., None] + 1.0)
    return w.to(torch.float32)


class OverlapConstraint:
    """Per-group masked merge onto the M x M canvas and re-extraction (docs/physics.md#merge-and-re-extraction).

    `rel` = coords_relative, (B, C, 2) with (x, y) = (column, row). Merge translates patch c by
    -r_c, re-extraction by +r_c. The translation matrices depend on the offsets only, so they are
    built once per batch, and the merge is four batched matmuls per complex component.
    """

    def __init__(self, rel, n, gridsize):
        m = canvas_size(n, gridsize)
        p = (m - n) // 2
        rel = rel.to(torch.float64)
        # Merge: canvas[Y] = patch(Y - (-r) - p) -> (B, C, M, N).
        self.merge_y = interp_matrix(-rel[..., 1], m, n, p)
        self.merge_x = interp_matrix(-rel[..., 0], m, n, p)
        # Extract: patch[i] = canvas(i + p - r) -> (B, C, N, M).
        self.extract_y = interp_matrix(rel[..., 1], n, m, -p)
        self.extract_x = interp_matrix(rel[..., 0], n, m, -p)
        mask = torch.zeros(n, n)
        mask[n // 4 : 3 * n // 4, n // 4 : 3 * n // 4] = 1.0
        weight = self.merge_y @ mask @ self.merge_x.transpose(-1, -2)  # (B, C, M, M)
        self.weight = weight
        count = weight.sum(dim=1, keepdim=True)  # (B, 1, M, M)
        self.inv_count = torch.where(count > 1e-6, 1.0 / count.clamp_min(1e-6), torch.zeros(()))

    def merge(self, comp):
        """One real component (B, C, N, N) of the patches -> the group canvases (B, 1, M, M)."""
        moved = self.merge_y @ comp @ self.merge_x.transpose(-1, -2) * self.weight
        return moved.sum(dim=1, keepdim=True) * self.inv_count

    def __call__(self, re, im):
        """Merge (B, C, N, N) patches per group and extract them again."""
        ex_t = self.extract_x.transpose(-1, -2)
        return tuple(self.extract_y @ self.merge(comp) @ ex_t for comp in (re, im))


def diffraction_intensity(re, im, probe, scale):
    """lambda = (s * |fftshift(fft2_ortho(P * O))|)^2 for (B, C, N, N) object patches."""
    psi = torch.complex(re, im) * probe
    far = torch.fft.fftshift(torch.fft.fft2(psi, norm="ortho"), dim=(-2, -1))
    amplitude = far.abs()
    return (scale * amplitude) ** 2


def poisson_nll(lam, k):
    """Mean over elements of lambda - k log lambda, lambda clamped >= 1e-8 (docs/physics.md#losses)."""
    lam = lam.clamp_min(1e-8)
    return (lam - k * torch.log(lam)).mean()


class PtychoPINN(nn.Module):
    """Generator + forward model; the trainable intensity scale s = exp(log_scale)."""

    def __init__(self, n, gridsize, probe, nphotons=DEFAULT_NPHOTONS):
        super().__init__()
        self.n, self.gridsize = n, gridsize
        self.generator = Generator(n, gridsize)
        self.scale0 = math.sqrt(nphotons) / (n / 2)
        self.log_scale = nn.Parameter(torch.tensor(math.log(self.scale0), dtype=torch.float32))
        self.register_buffer("probe", probe)

    def objects(self, x_norm):
        """Complex patches (re, im) from normalised amplitudes X: net input s0*X/s."""
        scale = torch.exp(self.log_scale)
        amp, phase = self.generator(x_norm * (self.scale0 / scale))
        return amp * torch.cos(phase), amp * torch.sin(phase)

    def loss(self, x_norm, rel):
        """Poisson NLL of one batch of groups; targets k = (s0*X)^2."""
        re, im = self.objects(x_norm)
        if self.gridsize > 1:
            re, im = OverlapConstraint(rel, self.n, self.gridsize)(re, im)
        lam = diffraction_intensity(re, im, self.probe, torch.exp(self.log_scale))
        return poisson_nll(lam, (self.scale0 * x_norm) ** 2)


# ---------------------------------------------------------------------------------------------
# Golden check (docs/physics.md#golden-fixtures)
# ---------------------------------------------------------------------------------------------


def golden_case(path):
    """Forward + summed Poisson loss (with lgamma) against one upstream fixture."""
    d = np.load(path, allow_pickle=False)
    re, im = torch.from_numpy(d["x_real"]), torch.from_numpy(d["x_imag"])
    probe = torch.complex(torch.from_numpy(d["probe_real"]), torch.from_numpy(d["probe_imag"]))
    scale = float(d["scale"].reshape(-1)[0])
    channels = re.shape[1]
    if channels > 1:
        rel = torch.from_numpy(d["positions"]).reshape(re.shape[0], channels, 2)
        gridsize = int(round(math.sqrt(channels)))
        re, im = OverlapConstraint(rel, re.shape[-1], gridsize)(re, im)
    lam = diffraction_intensity(re, im, probe, scale).double()
    expected = torch.from_numpy(d["expected_forward"]).double()
    k = torch.from_numpy(d["I_raw"]).double()
    lam_c = lam.clamp_min(1e-8)
    loss = float((lam_c - k * torch.log(lam_c) + torch.lgamma(k + 1)).sum())
    expected_loss = float(d["expected_poisson_loss"])
    forward_err = float((lam - expected).abs().max() / expected.abs().max())
    loss_err = abs(loss - expected_loss) / abs(expected_loss)
    return {
        "forward_max_err_rel_to_max": forward_err,
        "poisson_loss": loss,
        "expected_poisson_loss": expected_loss,
        "poisson_loss_rel_err": loss_err,
        "pass": forward_err <= 1e-5 and loss_err <= 1e-5,
    }


def measure_golden():
    """Both fixtures, or a note when ../shared/data/forward_golden is absent."""
    out = {}
    for name in ("c1_bigF", "c4_bigT_uniform"):
        path = os.path.join(GOLDEN_DIR, name + ".npz")
        out[name] = golden_case(path) if os.path.exists(path) else {"skipped": "fixture absent"}
    return out


# ---------------------------------------------------------------------------------------------
# Synthetic inputs and throughput measurements
# ---------------------------------------------------------------------------------------------


def disk_probe(n, generator):
    """A soft-edged disk probe with a random phase ramp, normalised as in docs/physics.md#probe-normalisation."""
    coords = np.arange(n) - n // 2 + 0.5
    d = np.hypot(coords[None, :], coords[:, None])
    amp = 1.0 / (1.0 + np.exp((d - n / 5) / 1.5))
    phase = generator.uniform(-0.3, 0.3) * coords[None, :]
    return normalise_probe((amp * np.exp(1j * phase)).astype(np.complex64))


def normalise_probe(probe):
    """P / (probe_scale * mean_{N x N} |M_hard * P|), M_hard = disk d < N/4 (docs/physics.md#probe-normalisation)."""
    n = probe.shape[0]
    coords = np.arange(n) - n // 2 + 0.5
    hard = np.hypot(coords[None, :], coords[:, None]) < n / 4
    return (probe / (PROBE_SCALE * np.mean(np.abs(probe * hard)))).astype(np.complex64)


def synthetic_batch(batch, n, gridsize, seed=0):
    """Random normalised amplitudes (B, C, N, N) and group offsets (B, C, 2) of a few pixels."""
    rng = np.random.default_rng(seed)
    channels = gridsize * gridsize
    x = rng.gamma(2.0, 0.5, size=(batch, channels, n, n)).astype(np.float32)
    x *= math.sqrt((n / 2) ** 2 / np.mean(np.sum(x.astype(np.float64) ** 2, axis=(2, 3))))
    pos = rng.uniform(-4.0, 4.0, size=(batch, channels, 2))
    rel = -(pos - pos.mean(axis=1, keepdims=True))
    probe = torch.from_numpy(disk_probe(n, rng))
    return torch.from_numpy(x), torch.from_numpy(rel.astype(np.float32)), probe


class TrainBench:
    """A model, its Adam optimiser and one synthetic batch, ready for timed steps."""

    def __init__(self, n, gridsize, batch):
        torch.manual_seed(42)
        self.x, self.rel, probe = synthetic_batch(batch, n, gridsize)
        self.model = PtychoPINN(n, gridsize, probe)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-3, betas=(0.9, 0.999))
        self.batch = batch

    def step(self):
        """One training step: forward, backward, Adam update; returns the loss."""
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.model.loss(self.x, self.rel)
        loss.backward()
        self.optimizer.step()
        return float(loss)


def keep_freed_memory():
    """Make glibc keep freed memory in the heap instead of handing it back to the kernel.

    By default glibc serves every allocation above its mmap threshold (at most 32 MiB) with a
    fresh mmap and unmaps it on free. A batch-64 generator forward allocates activations of
    64 MiB and more (64 x 64 x 64 x 64 float32), so every timed batch first-touched about 1 GB
    of new pages: about 250 k minor page faults per batch, each zeroed by the kernel, a third of
    the peer's CPU time in the kernel and worse under load (OpenMP threads wait on each other).
    That held the peer's inference figure in the bench at 26 patterns/s (4-6 at load 8-10, where
    it reaches 20-28 with the memory reused). The throughput figures measure PyTorch's compute,
    so they run with mmap and trimming off (what a caching allocator such as jemalloc gives);
    our side reuses its buffers through its pool as well. The smokes run the plain commands."""
    libc = ctypes.CDLL("libc.so.6")
    m_trim_threshold, m_mmap_max = -1, -4
    libc.mallopt(m_mmap_max, 0)
    libc.mallopt(m_trim_threshold, 2**31 - 1)


def timed_repeats(step, repeats, steps, warmup, items_per_step):
    """Warm up, then time `repeats` blocks of `steps` calls; items/s per block and summary, with
    the cores kept busy (process CPU s / wall s) and the minor page faults per step in each
    block (near 0 once memory is reused; see keep_freed_memory)."""
    for _ in range(warmup):
        step()
    rates, busy, faults = [], [], []
    for _ in range(repeats):
        f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(steps):
            step()
        wall = time.perf_counter() - t0
        rates.append(items_per_step * steps / wall)
        busy.append((time.process_time() - c0) / wall)
        faults.append((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0) / steps)
    return dict(summary(rates), cores_busy=busy, page_faults_per_step=faults)


def summary(values):
    """Median, min, max and the raw values."""
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "values": values,
    }


class Peer:
    """Measurements, with models built once per configuration and warmed up on first use."""

    def __init__(self):
        self.benches = {}

    def train(self, gridsize, repeats, steps, warmup=1, n=64, batch=16):
        """Training groups/s at batch 16 (one group = gridsize^2 patterns)."""
        key = ("train", n, gridsize, batch)
        fresh = key not in self.benches
        if fresh:
            self.benches[key] = TrainBench(n, gridsize, batch)
        bench = self.benches[key]
        stats = timed_repeats(bench.step, repeats, steps, warmup if fresh else 0, batch)
        return dict(stats, unit="groups/s", n=n, gridsize=gridsize, batch=batch, steps=steps,
                    parameters=parameter_count(bench.model.generator))

    def infer(self, repeats, steps, warmup=1, n=64, gridsize=1, batch=64):
        """Inference patterns/s: generator only, no_grad, batch 64 (patterns = groups * gs^2)."""
        key = ("infer", n, gridsize, batch)
        fresh = key not in self.benches
        if fresh:
            torch.manual_seed(42)
            x, _, _ = synthetic_batch(batch, n, gridsize)
            self.benches[key] = (Generator(n, gridsize).eval(), x)
        gen, x = self.benches[key]

        def step():
            with torch.no_grad():
                gen(x)

        stats = timed_repeats(step, repeats, steps, warmup if fresh else 0,
                              batch * gridsize * gridsize)
        return dict(stats, unit="patterns/s", n=n, gridsize=gridsize, batch=batch, steps=steps)

    def measure(self, name, repeats, steps=None):
        """One named figure (see --measure)."""
        if name == "golden":
            return measure_golden()
        if name == "train_gs2":
            return self.train(2, repeats, steps or 2)
        if name == "train_gs1":
            return self.train(1, repeats, steps or 2)
        if name == "infer":
            return self.infer(repeats, steps or 2)
        if name == "infer_gs2":
            return self.infer(repeats, steps or 1, gridsize=2)
        if name == "smoke_train":
            return smoke("train", repeats)
        if name == "smoke_infer":
            return smoke("infer", repeats)
        raise ValueError(f"unknown measure '{name}'")


# ---------------------------------------------------------------------------------------------
# End-to-end smokes: dataset, grouping, train and infer subcommands
# ---------------------------------------------------------------------------------------------


def simulate_dataset(path, n=64, count=64, seed=0):
    """A dataset NPZ (docs/physics.md#data-contract keys) of random amplitudes on a jittered raster: timing only."""
    rng = np.random.default_rng(seed)
    side = int(math.ceil(math.sqrt(count)))
    grid = np.stack(np.meshgrid(np.arange(side), np.arange(side)), -1).reshape(-1, 2)[:count]
    xy = n / 2 + 8.0 * grid + rng.uniform(-2.0, 2.0, size=grid.shape)
    amp = rng.gamma(2.0, 0.5, size=(count, n, n)).astype(np.float32)
    np.savez(path, diffraction=amp, probeGuess=disk_probe(n, rng),
             xcoords=xy[:, 0].astype(np.float64), ycoords=xy[:, 1].astype(np.float64),
             _metadata=np.array(json.dumps({"nphotons": 1e9})))


def load_dataset(path):
    """diffraction (M,N,N) amplitudes, probe (N,N), xy (M,2), nphotons."""
    d = np.load(path, allow_pickle=False)
    diff = d["diffraction"] if "diffraction" in d.files else d["diff3d"]
    xy = np.stack([d["xcoords"], d["ycoords"]], -1).astype(np.float64)
    if diff.shape[0] != xy.shape[0]:
        diff = np.transpose(diff, (2, 0, 1))
    nphotons = DEFAULT_NPHOTONS
    if "_metadata" in d.files:
        nphotons = float(json.loads(str(d["_metadata"])).get("nphotons", DEFAULT_NPHOTONS))
    return diff.astype(np.float32), d["probeGuess"].astype(np.complex64), xy, nphotons


def make_groups(xy, n_groups, gridsize, neighbours=4, seed=42):
    """Group indices (G, C) per docs/physics.md#grouping: K nearest excluding the seed, C chosen of them."""
    rng = np.random.default_rng(seed)
    seeds = rng.choice(len(xy), size=min(n_groups, len(xy)), replace=False)
    channels = gridsize * gridsize
    if channels == 1:
        return seeds[:, None]
    groups = []
    for s in seeds:
        order = np.argsort(np.sum((xy - xy[s]) ** 2, axis=1), kind="stable")
        nearest = order[order != s][:neighbours]
        groups.append(rng.choice(nearest, size=channels, replace=False))
    return np.array(groups)


def grouped_inputs(diff, xy, groups):
    """Normalised X (G, C, N, N) (docs/physics.md#amplitude-normalisation) and coords_relative (G, C, 2)."""
    x = diff[groups].astype(np.float64)
    n = diff.shape[-1]
    x *= math.sqrt((n / 2) ** 2 / np.mean(np.sum(x**2, axis=(2, 3))))
    pos = xy[groups]
    rel = -(pos - pos.mean(axis=1, keepdims=True))
    return torch.from_numpy(x.astype(np.float32)), torch.from_numpy(rel.astype(np.float32)), pos


def command_train(args):
    """Train for --epochs over --n-groups groups; write weights.npz + manifest.json."""
    torch.manual_seed(42)
    diff, probe, xy, nphotons = load_dataset(args.data)
    n = diff.shape[-1]
    x, rel, _ = grouped_inputs(diff, xy, make_groups(xy, args.n_groups, args.gridsize))
    model = PtychoPINN(n, args.gridsize, torch.from_numpy(normalise_probe(probe)), nphotons)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999))
    losses = []
    for _ in range(args.epochs):
        order = torch.randperm(x.shape[0])
        for start in range(0, x.shape[0], args.batch_size):
            idx = order[start : start + args.batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss = model.loss(x[idx], rel[idx])
            loss.backward()
            optimizer.step()
            losses.append(float(loss))
    os.makedirs(args.out, exist_ok=True)
    weights = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    tmp = os.path.join(args.out, "weights.tmp.npz")
    np.savez(tmp, **weights)
    os.replace(tmp, os.path.join(args.out, "weights.npz"))
    manifest = {"N": n, "gridsize": args.gridsize, "nphotons": nphotons, "losses": losses}
    with open(os.path.join(args.out, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f)
    print(json.dumps({"steps": len(losses), "final_loss": losses[-1]}))


def stitch(re, im, offsets, crop=20):
    """Average the central crop x crop of each patch at canvas centre + offset (docs/physics.md#inference-and-stitching)."""
    n = re.shape[-1]
    pad = int(math.ceil(float(offsets.abs().max())))
    pad += pad % 2
    size = crop + 2 * pad
    lo = (n - crop) // 2
    t = offsets.to(torch.float64)
    ty = interp_matrix(t[:, 1], size, crop, pad)
    tx = interp_matrix(t[:, 0], size, crop, pad).transpose(-1, -2)
    parts = [ty @ c[:, lo : lo + crop, lo : lo + crop] @ tx for c in (re, im)]
    count = (ty @ torch.ones(crop, crop) @ tx).sum(0) + 1e-9
    return parts[0].sum(0) / count, parts[1].sum(0) / count


def command_infer(args):
    """Reconstruct the first --n-images patterns (one group each) and stitch; write .npz."""
    with open(os.path.join(args.model, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    n, gridsize = manifest["N"], manifest["gridsize"]
    diff, probe, xy, _ = load_dataset(args.data)
    model = PtychoPINN(n, gridsize, torch.from_numpy(normalise_probe(probe)), manifest["nphotons"])
    weights = np.load(os.path.join(args.model, "weights.npz"))
    model.load_state_dict({k: torch.from_numpy(weights[k]) for k in weights.files})
    count = min(args.n_images, len(xy))  # the first n patterns, each seeding one group
    diff, xy = diff[:count], xy[:count]
    if gridsize == 1:
        groups = np.arange(count)[:, None]
    else:
        groups = make_groups(xy, count, gridsize, seed=45)
    x, rel, pos = grouped_inputs(diff, xy, groups)
    with torch.no_grad():
        re, im = model.objects(x)
        if gridsize > 1:  # a group's object: the central N x N of its merged canvas
            overlap = OverlapConstraint(rel, n, gridsize)
            lo = (canvas_size(n, gridsize) - n) // 2
            re, im = (overlap.merge(c)[..., lo : lo + n, lo : lo + n] for c in (re, im))
        centre = torch.from_numpy(pos.mean(axis=1))  # one patch per group, at the group mean
        offsets = centre - centre.mean(dim=0)
        obj_re, obj_im = stitch(re[:, 0], im[:, 0], offsets, crop=20 * n // 64)
    os.makedirs(args.out, exist_ok=True)
    obj = (obj_re.numpy() + 1j * obj_im.numpy()).astype(np.complex64)
    np.savez(os.path.join(args.out, "reconstruction.npz"), object=obj, amplitude=np.abs(obj),
             phase=np.angle(obj), offsets=offsets.numpy())
    print(json.dumps({"patches": int(re.shape[0]), "object_shape": list(obj.shape)}))


def run_measured(argv):
    """Run a command; its wall seconds (start to exit) and peak RSS in bytes.

    The peak comes from GNU time's %M where /usr/bin/time exists (a child forked from this big
    process would inherit its high-water mark through fork+exec, so rusage is not used), else
    from polling VmHWM in /proc/<pid>/status every 10 ms.
    """
    use_time = os.path.exists(GNU_TIME)
    with tempfile.NamedTemporaryFile(suffix=".rss") as rss_file:
        full = [GNU_TIME, "-f", "%M", "-o", rss_file.name] + argv if use_time else argv
        t0 = time.perf_counter()
        proc = subprocess.Popen(full, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        peak_kib = 0
        while proc.poll() is None:
            if not use_time:
                peak_kib = max(peak_kib, vm_hwm_kib(proc.pid))
            time.sleep(0.01)
        wall = time.perf_counter() - t0
        err = proc.stderr.read().decode(errors="replace")
        proc.stderr.close()
        if proc.returncode != 0:
            raise RuntimeError(f"{argv[1:3]} exited {proc.returncode}: {err[-400:]}")
        if use_time:
            peak_kib = int(open(rss_file.name, encoding="ascii").read().split()[-1])
    return wall, peak_kib * 1024


def vm_hwm_kib(pid):
    """VmHWM (peak resident set, KiB) of a live process, 0 once it has gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


SMOKE_DIR = None


def smoke_paths():
    """A temp dir with the smoke dataset and one trained model (made once per process).

    The dataset is the repository's fixtures/sim_lines_n64.npz (what `deno task bench` gives
    both sides), or random patterns where that file is absent.
    """
    global SMOKE_DIR
    if SMOKE_DIR is None:
        SMOKE_DIR = tempfile.mkdtemp(prefix="ptycho-peer-")
        atexit.register(shutil.rmtree, SMOKE_DIR, True)
        data = os.path.join(SMOKE_DIR, "data.npz")
        if os.path.exists(SMOKE_FIXTURE):
            shutil.copyfile(SMOKE_FIXTURE, data)
        else:
            simulate_dataset(data)
        run_measured(train_argv(SMOKE_DIR))
    return SMOKE_DIR


def train_argv(root):
    """The train smoke: 1 epoch of 16 groups, gridsize 2, batch 16."""
    return [sys.executable, SELF, "train", "--data", os.path.join(root, "data.npz"),
            "--out", os.path.join(root, "model"), "--n-groups", "16", "--epochs", "1"]


def infer_argv(root):
    """The inference smoke: 16 images with the trained smoke model."""
    return [sys.executable, SELF, "infer", "--model", os.path.join(root, "model"), "--data",
            os.path.join(root, "data.npz"), "--out", os.path.join(root, "recon"),
            "--n-images", "16"]


def smoke(kind, repeats):
    """Wall time (process start to exit) and peak RSS of `repeats` smoke processes."""
    root = smoke_paths()
    argv = train_argv(root) if kind == "train" else infer_argv(root)
    walls, rss = [], []
    for _ in range(repeats):
        wall, peak = run_measured(argv)
        walls.append(wall)
        rss.append(peak)
    return dict(summary(walls), unit="s", peak_rss_bytes=max(rss), rss_values=rss,
                command=" ".join(os.path.basename(a) if a == SELF else a for a in argv[1:]))


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------


def cpu_model():
    """The CPU model name from /proc/cpuinfo (None where there is none)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def environment():
    """Versions and machine facts printed with every result."""
    return {
        "cpu_model": cpu_model(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": sys.version.split()[0],
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "loadavg_1m": os.getloadavg()[0],
    }


ALL = ["golden", "train_gs2", "train_gs1", "infer", "smoke_train", "smoke_infer"]


def main():
    """Parse the command line; subcommands train/infer/simulate or --measure."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", nargs="?", choices=["train", "infer", "simulate"])
    parser.add_argument("--measure", choices=ALL + ["infer_gs2", "all"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--data")
    parser.add_argument("--model")
    parser.add_argument("--out")
    parser.add_argument("--n-groups", type=int, default=16)
    parser.add_argument("--n-images", type=int, default=16)
    parser.add_argument("--gridsize", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    if args.command == "train":
        return command_train(args)
    if args.command == "infer":
        return command_infer(args)
    if args.command == "simulate":
        return simulate_dataset(args.out)

    keep_freed_memory()
    assert parameter_count(Generator(64, 2)) == 2_340_208, "A2 parameter count (gs 2)"
    assert parameter_count(Generator(64, 1)) == 2_331_772, "A2 parameter count (gs 1)"
    peer = Peer()
    names = ALL if args.measure in (None, "all") else [args.measure]
    results = {name: peer.measure(name, args.repeats, args.steps) for name in names}
    print(json.dumps({"environment": environment(), "results": results}, indent=1))
    return None


if __name__ == "__main__":
    main()
