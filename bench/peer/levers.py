"""Training levers tried quickly in PyTorch on the peer's model (docs/quality/README.md, ninth session).

Trains the peer's PtychoPINN (pytorch_ptychopinn.py) on one scan and prints, every --every steps,
the mean training loss of the last 100 steps and the mean Poisson NLL per pattern on another scan,
both as the excess over the noise floor (the NLL at lambda = k). Groups: the seed and its 3 nearest
neighbours in angle order (our defaults). N = 32 uses the small ladder of model/network.ts.
Variants: base, kaiming (He init), gn / bn (GroupNorm / BatchNorm after each conv); --aug 1 draws
one of the 8 flips/transposes per group and step (valid for the ideal disk probe). --sup_steps S
trains the first S steps on the true object instead (a simulated scan's objectGuess cut at each
member's position, scaled to the model's photon scale, mean squared complex error over the probe's
support); --sup_w W adds W times that error to the physics loss for the remaining steps.
Twelfth session: --ema D also prints the test NLL of the weights' exponential moving average
(decay D); --act relu|silu|lrelu|gelu|elu, --pool max|avg, --up nearest|bilinear and --res 1
(each block's conv2 output plus its conv1 output) change the conv blocks; --feat patt|pattonly
appends (or substitutes) each pattern's |autocorrelation| (|ifft2(X^2)| over its zero lag) as input
channels; --coord 1 appends two coordinate planes; --mix 1 adds a zero-initialised linear map over
the bottleneck's positions (residual); --warmup W, --decay_frac F (epoch-wise linear decay over the
last F of the run) and --beta2 B change the optimiser.

    python3 bench/peer/levers.py --train TRAIN.npz --test TEST.npz --nfs 0.5 --steps 2560 --every 320 [--variant gn] [--aug 1] [--sup_steps 640] [--sup_w 0.3] [--ema 0.99] [--act elu]
"""
import sys, math, time, argparse, os
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np, torch
from torch import nn
import pytorch_ptychopinn as P
_c3 = P.conv3x3
P.conv3x3 = lambda ci, co: _c3(int(ci), int(co))
_orig_init = P.Generator.__init__
def _gen_init(self, n=64, gridsize=2, nfs=2):
    if n != 32:
        return _orig_init(self, n, gridsize, nfs)
    nn.Module.__init__(self)
    enc = [int(nfs * f) for f in (64, 128)]
    dec = [int(nfs * 32)]
    blocks, c = [], gridsize * gridsize
    for f in enc:
        blocks.append(P.ConvPool(c, f)); c = f
    self.encoder = nn.Sequential(*blocks)
    self.amp_base = nn.Sequential(P.ConvUp(enc[-1], dec[0]))
    self.phase_base = nn.Sequential(P.ConvUp(enc[-1], dec[0]))
    self.amp_head = P.DecoderHead(dec[-1], 4, n, nfs, torch.sigmoid)
    self.phase_head = P.DecoderHead(dec[-1], 4, n, nfs, lambda t: math.pi * torch.tanh(t))
P.Generator.__init__ = _gen_init

ap = argparse.ArgumentParser()
ap.add_argument("--variant", default="base")
ap.add_argument("--steps", type=int, default=1500)
ap.add_argument("--batch", type=int, default=4)
ap.add_argument("--nfs", type=float, default=1)
ap.add_argument("--lr", type=float, default=1e-3)
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--train", required=True)
ap.add_argument("--test", required=True)
ap.add_argument("--every", type=int, default=250)
ap.add_argument("--aug", type=int, default=0)
ap.add_argument("--seed", type=int, default=42)
ap.add_argument("--sup_steps", type=int, default=0)
ap.add_argument("--sup_w", type=float, default=0.0)
ap.add_argument("--feat", default="none")
ap.add_argument("--coord", type=int, default=0)
ap.add_argument("--mix", type=int, default=0)
ap.add_argument("--ema", type=float, default=0.0)
ap.add_argument("--warmup", type=int, default=0)
ap.add_argument("--decay_frac", type=float, default=0.0)
ap.add_argument("--act", default="relu")
ap.add_argument("--pool", default="max")
ap.add_argument("--up", default="nearest")
ap.add_argument("--res", type=int, default=0)
ap.add_argument("--beta2", type=float, default=0.999)
a = ap.parse_args()
if a.aug and (a.sup_steps or a.sup_w):
    sys.exit("levers.py: --aug does not transform the true patches; use it without --sup_steps/--sup_w")
torch.set_num_threads(a.threads)
torch.manual_seed(a.seed)

def groups_of(xy, seed):
    rng = np.random.default_rng(seed)
    out = []
    for s in range(len(xy)):
        order = np.argsort(np.sum((xy - xy[s]) ** 2, axis=1), kind="stable")
        mem = order[:4]  # seed + 3 nearest
        c = xy[mem].mean(0)
        ang = np.arctan2(xy[mem, 1] - c[1], xy[mem, 0] - c[0]) % (2 * math.pi)
        out.append(mem[np.argsort(ang, kind="stable")])
    return np.array(out)

class Norm(nn.Module):
    def __init__(self, c, kind):
        super().__init__()
        self.m = nn.GroupNorm(min(8, c), c) if kind == "gn" else nn.BatchNorm2d(c)
    def forward(self, x): return self.m(x)

def patch_blocks(gen, kind):
    for mod in gen.modules():
        if isinstance(mod, P.ConvBlock):
            c1, c2 = mod.conv1.out_channels, mod.conv2.out_channels
            if kind in ("gn", "bn"):
                mod.n1, mod.n2 = Norm(c1, kind), Norm(c2, kind)
                def fwd(x, mod=mod):
                    return mod.resample(torch.relu(mod.n2(mod.conv2(torch.relu(mod.n1(mod.conv1(x)))))))
                mod.forward = fwd
            if kind == "kaiming":
                for conv in (mod.conv1, mod.conv2):
                    nn.init.kaiming_uniform_(conv.weight, nonlinearity="relu")

ACTS = {"relu": torch.relu, "silu": nn.functional.silu, "lrelu": lambda t: nn.functional.leaky_relu(t, 0.1),
        "gelu": nn.functional.gelu, "elu": nn.functional.elu}

def patch_structure(g):
    act = ACTS[a.act]
    for mod in g.modules():
        if isinstance(mod, P.ConvBlock):
            if isinstance(mod, P.ConvPool):
                def rs(x): return nn.functional.max_pool2d(x, 2) if a.pool == "max" else nn.functional.avg_pool2d(x, 2)
            else:
                def rs(x): return nn.functional.interpolate(x, scale_factor=2, mode=a.up) if a.up == "nearest" else nn.functional.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
            def fwd(x, mod=mod, rs=rs):
                y1 = act(mod.conv1(x))
                y2 = act(mod.conv2(y1))
                return rs(y2 + y1 if a.res else y2)
            mod.forward = fwd

def build(n, probe, nphotons):
    m = P.PtychoPINN(n, 2, probe, nphotons)
    g = P.Generator(n, 2, nfs=a.nfs) if a.nfs != 2 else m.generator
    m.generator = g
    patch_blocks(g, a.variant)
    if a.act != "relu" or a.pool != "max" or a.up != "nearest" or a.res:
        patch_structure(g)
    if a.feat != "none":
        add_features(g, a.feat)
    if a.coord:
        add_coords(g)
    if a.mix:
        add_mix(g, n)
    return m

def add_coords(g):
    first = g.encoder[0]
    c_in, c_out = first.conv1.in_channels, first.conv1.out_channels
    first.conv1 = P.conv3x3(c_in + 2, c_out)
    fwd = g.forward
    def forward(x):
        N = x.shape[-1]
        t = (torch.arange(N, dtype=x.dtype) - (N - 1) / 2) / (N / 2)
        yy, xx = torch.meshgrid(t, t, indexing="ij")
        planes = torch.stack([xx, yy])[None].expand(x.shape[0], 2, N, N)
        return fwd(torch.cat([x, planes], dim=1))
    g.forward = forward

class Mix(nn.Module):
    """z + token mixing over the bottleneck's positions (one hw x hw map shared by the channels)."""
    def __init__(self, hw):
        super().__init__()
        self.lin = nn.Linear(hw, hw)
        nn.init.zeros_(self.lin.weight); nn.init.zeros_(self.lin.bias)
    def forward(self, z):
        B, C, H, W = z.shape
        return z + self.lin(z.reshape(B, C, H * W)).reshape(B, C, H, W)

def add_mix(g, n):
    side = n // (2 ** len(g.encoder))
    g.encoder.append(Mix(side * side))

def patterson(xx):
    """|autocorrelation| of each member's exit wave, from its pattern: |ifft2(X^2)| / its zero lag, centred."""
    inten = torch.fft.ifftshift(xx * xx, dim=(-2, -1))
    ac = torch.fft.fftshift(torch.fft.ifft2(inten), dim=(-2, -1)).abs()
    zero = ac[..., xx.shape[-2] // 2, xx.shape[-1] // 2][..., None, None].clamp_min(1e-12)
    return ac / zero

def add_features(g, kind):
    first = g.encoder[0]
    c_in, c_out = first.conv1.in_channels, first.conv1.out_channels
    extra = c_in if kind in ("patt", "pattsqrt") else 0
    if kind == "pattonly":
        extra = 0
    first.conv1 = P.conv3x3(c_in + extra, c_out)
    fwd = g.forward
    def forward(x):
        f = patterson(x)
        if kind == "pattsqrt":
            f = f.sqrt()
        feats = f if kind == "pattonly" else torch.cat([x, f], dim=1)
        return fwd(feats)
    g.forward = forward

def true_patch(obj, x, y, n):
    """patch[i, j] = O[y - n/2 + i, x - n/2 + j], bilinear, zero outside (docs/physics.md#coordinates)."""
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    rows, cols = i + y - n // 2, j + x - n // 2
    r0, c0 = np.floor(rows).astype(int), np.floor(cols).astype(int)
    fr, fc = rows - r0, cols - c0
    def at(r, c):
        inside = (r >= 0) & (r < obj.shape[0]) & (c >= 0) & (c < obj.shape[1])
        return np.where(inside, obj[np.clip(r, 0, obj.shape[0] - 1), np.clip(c, 0, obj.shape[1] - 1)], 0)
    return (at(r0, c0) * (1 - fr) * (1 - fc) + at(r0, c0 + 1) * (1 - fr) * fc
            + at(r0 + 1, c0) * fr * (1 - fc) + at(r0 + 1, c0 + 1) * fr * fc)

def data(path, seed, with_truth):
    diff, probe, xy, nph = P.load_dataset(path)
    g = groups_of(xy, seed)
    x, rel, _ = P.grouped_inputs(diff, xy, g)
    truth = None
    if with_truth:
        obj, n = np.load(path)["objectGuess"], diff.shape[-1]
        patches = np.stack([true_patch(obj, px, py, n) for px, py in xy])
        truth = torch.from_numpy(patches[g].astype(np.complex64))
    return x, rel, probe, nph, truth

x, rel, probe, nph, truth = data(a.train, 1, bool(a.sup_steps or a.sup_w))
xt, relt, _, _, _ = data(a.test, 2, False)
n = x.shape[-1]
model = build(n, torch.from_numpy(P.normalise_probe(probe)), nph)
opt = torch.optim.Adam(model.parameters(), lr=a.lr, betas=(0.9, a.beta2))
ema = None
if a.ema:
    import copy
    ema = copy.deepcopy(model)
    for q in ema.parameters(): q.requires_grad_(False)

if truth is not None:
    # The photon scale the true patches need to explain the patterns at s = s0.
    with torch.no_grad():
        far = torch.fft.fft2(truth * model.probe, norm="ortho").abs() ** 2
        truth = truth * torch.sqrt(((model.scale0 * x) ** 2).sum() / (model.scale0**2 * far.sum()))
    support = (model.probe.abs() > 0.05 * model.probe.abs().max()).float()

def sup_loss(xb, idx):
    re, im = model.objects(xb)
    err = ((re - truth[idx].real) ** 2 + (im - truth[idx].imag) ** 2) * support
    return err.sum() / (support.sum() * err.shape[0] * err.shape[1])

def floor_of(xx):
    k = (model.scale0 * xx) ** 2
    return float(torch.where(k > 0, k - k * torch.log(k.clamp_min(1e-30)), torch.zeros(())).mean())

def test_nll(m=None):
    m = m if m is not None else model
    m.eval()
    tot = 0.0
    with torch.no_grad():
        for s in range(0, xt.shape[0], 64):
            tot += (float(m.loss(xt[s:s+64], relt[s:s+64])) - floor_of(xt[s:s+64])) * xt[s:s+64].shape[0]
    m.train()
    return tot / xt.shape[0] * n * n  # excess over lambda=k, per pattern

JFLIP = None
def augment(xb, rb):
    global JFLIP
    N = xb.shape[-1]
    if JFLIP is None:
        JFLIP = torch.tensor([(-j) % N for j in range(N)])
    xb = xb.clone(); rb = rb.clone()
    B = xb.shape[0]
    for b in range(B):
        g = int(torch.randint(0, 8, (1,), generator=augg))
        if g & 1:
            xb[b] = xb[b][..., JFLIP]; rb[b, :, 0] = -rb[b, :, 0]
        if g & 2:
            xb[b] = xb[b][..., JFLIP, :]; rb[b, :, 1] = -rb[b, :, 1]
        if g & 4:
            xb[b] = xb[b].transpose(-1, -2).clone(); rb[b] = rb[b][:, [1, 0]].clone()
        ang = torch.remainder(torch.atan2(-rb[b, :, 1], -rb[b, :, 0]), 2 * math.pi)
        o = torch.argsort(ang)
        xb[b] = xb[b][o]; rb[b] = rb[b][o]
    return xb, rb
augg = torch.Generator().manual_seed(7)

t0 = time.time(); step = 0; run = []
gen = torch.Generator().manual_seed(a.seed)
rep = {}
while step < a.steps:
    order = torch.randperm(x.shape[0], generator=gen)
    for s in range(0, x.shape[0], a.batch):
        idx = order[s:s+a.batch]
        opt.zero_grad(set_to_none=True)
        xb, rb = x[idx], rel[idx]
        if a.aug:
            xb, rb = augment(xb, rb)
        if step < a.sup_steps:
            sup_loss(xb, idx).backward()
            with torch.no_grad():
                loss = model.loss(xb, rb)
        else:
            loss = model.loss(xb, rb)
            (loss + a.sup_w * sup_loss(xb, idx) if a.sup_w else loss).backward()
        if a.warmup:
            for pg in opt.param_groups: pg["lr"] = a.lr * min(1.0, (step + 1) / a.warmup)
        if a.decay_frac:
            # Epoch-wise linear decay over the last decay_frac of the run (as an epoch schedule would).
            per = x.shape[0] // a.batch
            epochs = a.steps // per
            left = epochs - step // per
            k = max(1, round(a.decay_frac * epochs))
            for pg in opt.param_groups: pg["lr"] = a.lr * min(1.0, left / (k + 1))
        opt.step()
        if ema is not None:
            with torch.no_grad():
                for pe, pm in zip(ema.parameters(), model.parameters()):
                    pe.mul_(a.ema).add_(pm, alpha=1 - a.ema)
        run.append(float(loss) - floor_of(x[idx])); step += 1
        if step % a.every == 0 or step == a.steps:
            rep[step] = (float(np.mean(run[-100:])), test_nll())
            if ema is not None:
                print("  ema", step, "testNLL/pat %.0f" % test_nll(ema), flush=True)
            print(a.variant + ("+aug" if a.aug else "") + (" sup %d/%g" % (a.sup_steps, a.sup_w) if truth is not None else ""), step, "train %.3f" % rep[step][0], "testNLL/pat %.0f" % rep[step][1], "%.0fs" % (time.time()-t0), flush=True)
        if step >= a.steps: break
