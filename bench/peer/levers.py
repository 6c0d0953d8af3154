"""Training levers tried quickly in PyTorch on the peer's model (docs/quality/README.md, ninth session).

Trains the peer's PtychoPINN (pytorch_ptychopinn.py) on one scan and prints, every --every steps,
the mean training loss of the last 100 steps and the mean Poisson NLL per pattern on another scan,
both as the excess over the noise floor (the NLL at lambda = k). Groups: the seed and its 3 nearest
neighbours in angle order (our defaults). N = 32 uses the small ladder of model/network.ts.
Variants: base, kaiming (He init), gn / bn (GroupNorm / BatchNorm after each conv); --aug 1 draws
one of the 8 flips/transposes per group and step (valid for the ideal disk probe).

    python3 bench/peer/levers.py --train TRAIN.npz --test TEST.npz --nfs 0.5 --steps 2560 --every 320 [--variant gn] [--aug 1]
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
a = ap.parse_args()
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

def build(n, probe, nphotons):
    m = P.PtychoPINN(n, 2, probe, nphotons)
    g = P.Generator(n, 2, nfs=a.nfs) if a.nfs != 2 else m.generator
    m.generator = g
    patch_blocks(g, a.variant)
    return m

def data(path, seed):
    diff, probe, xy, nph = P.load_dataset(path)
    g = groups_of(xy, seed)
    x, rel, _ = P.grouped_inputs(diff, xy, g)
    return x, rel, probe, nph

x, rel, probe, nph = data(a.train, 1)
xt, relt, _, _ = data(a.test, 2)
n = x.shape[-1]
model = build(n, torch.from_numpy(P.normalise_probe(probe)), nph)
opt = torch.optim.Adam(model.parameters(), lr=a.lr)

def floor_of(xx):
    k = (model.scale0 * xx) ** 2
    return float(torch.where(k > 0, k - k * torch.log(k.clamp_min(1e-30)), torch.zeros(())).mean())

def test_nll():
    model.eval()
    tot = 0.0
    with torch.no_grad():
        for s in range(0, xt.shape[0], 64):
            tot += (float(model.loss(xt[s:s+64], relt[s:s+64])) - floor_of(xt[s:s+64])) * xt[s:s+64].shape[0]
    model.train()
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
        loss = model.loss(xb, rb); loss.backward(); opt.step()
        run.append(float(loss) - floor_of(x[idx])); step += 1
        if step % a.every == 0 or step == a.steps:
            rep[step] = (float(np.mean(run[-100:])), test_nll())
            print(a.variant + ("+aug" if a.aug else ""), step, "train %.3f" % rep[step][0], "testNLL/pat %.0f" % rep[step][1], "%.0fs" % (time.time()-t0), flush=True)
        if step >= a.steps: break
