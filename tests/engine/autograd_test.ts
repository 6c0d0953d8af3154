/** Autograd semantics, memory scopes, optimizers, schedules and the RNG. */
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "../assert.ts";
import * as E from "../../engine/mod.ts";
import { tensor, tidy } from "../../engine/mod.ts";

const backend = E.getBackend();

Deno.test("gradients accumulate across backward calls and only where required", () => {
  const x = tensor([1, 2, 3], [3], { requiresGrad: true });
  const c = tensor([4, 5, 6], [3]);
  tidy(() => E.backward(E.sum(E.mul(x, c))));
  tidy(() => E.backward(E.sum(E.mul(x, c))));
  assertEquals([...x.grad!.dataSync()], [8, 10, 12]);
  assertEquals(c.grad, null);
  // a tensor used twice gets the sum of both paths
  const y = tensor([3], [1], { requiresGrad: true });
  tidy(() => E.backward(E.sum(E.mul(y, E.add(y, y)))));
  assertEquals([...y.grad!.dataSync()], [12]);
  for (const t of [x, c, y]) {
    t.grad?.dispose();
    t.dispose();
  }
});

Deno.test("noGrad records nothing; detach by view cuts the graph; backward needs a scalar", () => {
  const x = tensor([1, 2], [2], { requiresGrad: true });
  const y = E.noGrad(() => E.mul(x, 2));
  assertEquals(y.requiresGrad, false);
  assertEquals(y.node, null);
  const d = x.view(x.shape);
  assertEquals(d.requiresGrad, false);
  assertThrows(() => E.backward(E.mul(x, 2)), Error, "needs a scalar");
  assertThrows(() => E.backward(y), Error, "does not require");
  for (const t of [x, y, d]) t.dispose();
});

Deno.test("tidy releases every intermediate and keeps returned and kept tensors (counted)", () => {
  const before = backend.memory().liveStorages;
  const a = tensor([1, 2, 3, 4], [2, 2]);
  let kept: E.Tensor | null = null;
  const out = tidy(() => {
    const b = E.exp(E.mul(a, a));
    kept = E.keep(E.sum(b));
    E.add(b, 1);
    return { result: E.max(b, 1), list: [E.neg(b)] };
  });
  // live: a, kept, result, list[0]
  assertEquals(backend.memory().liveStorages - before, 4);
  assertEquals(out.result.disposed, false);
  assertEquals(out.list[0].disposed, false);
  for (const t of [a, kept!, out.result, out.list[0]]) t.dispose();
  assertEquals(backend.memory().liveStorages, before);
  // a training step inside tidy leaves only the parameter and its gradient
  const w = tensor([0.5, -0.5], [2], { requiresGrad: true });
  const start = backend.memory().liveStorages;
  for (let i = 0; i < 5; i++) {
    tidy(() => E.backward(E.sum(E.square(E.sub(E.mul(w, 3), 1)))));
    w.grad!.dispose();
    w.grad = null;
  }
  assertEquals(backend.memory().liveStorages, start);
  w.dispose();
  assertThrows(() => w.dataSync(), Error, "after dispose");
});

Deno.test("backward frees each gradient once consumed; a caller's seed is left alone", () => {
  // A chain of 40 ops with a probe at its start, whose gradient rule runs last and counts the
  // live storages: the forward tensors are all still held by the tidy, the gradients of the
  // 40 links must be gone.
  const x = tensor([1, 2, 3], [3], { requiresGrad: true });
  let liveAtProbe = -1, liveAfterForward = -1;
  tidy(() => {
    const probe = E.attachGrad(x.view(x.shape), "probe", [x], (gy) => {
      liveAtProbe = backend.memory().liveStorages;
      return [gy]; // passed through: the table must keep it alive for x
    });
    let y = probe;
    for (let k = 0; k < 40; k++) y = E.mul(y, 1.01);
    const loss = E.sum(y);
    liveAfterForward = backend.memory().liveStorages;
    E.backward(loss);
  });
  assert(liveAtProbe - liveAfterForward <= 2, `${liveAtProbe - liveAfterForward} gradients live`);
  const expected = 1.01 ** 40;
  for (const g of x.grad!.dataSync()) assertAlmostEquals(g, expected, 1e-5);
  // One tensor returned for two inputs (add) and one input used twice (y * (y + y)).
  const a = tensor([2], [1], { requiresGrad: true }), b = tensor([5], [1], { requiresGrad: true });
  tidy(() => E.backward(E.sum(E.mul(E.add(a, b), E.add(a, a)))));
  assertEquals([...a.grad!.dataSync(), ...b.grad!.dataSync()], [2 * 2 + 2 * 7, 4]);
  const seed = tensor([1, 1, 1], [3]);
  tidy(() => E.backward(E.mul(x, 2), seed));
  assertEquals(seed.disposed, false);
  for (const t of [x, a, b, seed]) {
    t.grad?.dispose();
    t.dispose();
  }
});

Deno.test("Adam matches a hand-computed first step and decoupled weight decay", () => {
  const p = tensor([1, -2], [2], { requiresGrad: true });
  const opt = new E.Adam([p], { lr: 0.1, weightDecay: 0.01 });
  tidy(() => E.backward(E.sum(E.mul(p, tensor([3, -0.5])))));
  opt.step();
  // m̂ = g, v̂ = g² ⇒ update = lr·g/(|g| + eps); decay lr·wd·p first
  const expected = [1 - 0.1 * 0.01 * 1 - 0.1, -2 - 0.1 * 0.01 * -2 + 0.1];
  const got = p.dataSync();
  expected.forEach((e, i) => assertAlmostEquals(got[i], e, 1e-6));
  opt.zeroGrad();
  assertEquals(p.grad, null);
});

Deno.test("SGD with momentum follows v ← μv + g, p ← p − lr·v", () => {
  const p = tensor([1], [1], { requiresGrad: true });
  const opt = new E.Sgd([p], { lr: 0.1, momentum: 0.9 });
  let ref = 1, v = 0;
  for (let i = 0; i < 3; i++) {
    tidy(() => E.backward(E.sum(E.square(p)))); // g = 2p
    opt.step();
    opt.zeroGrad();
    v = 0.9 * v + 2 * ref;
    ref -= 0.1 * v;
    assertAlmostEquals(p.dataSync()[0], ref, 1e-6);
  }
});

Deno.test("learning-rate schedules", () => {
  assertEquals(new E.ConstantLr(0.1).lrForEpoch(), 0.1);
  assertAlmostEquals(new E.ExponentialLr(1, 0.5).lrForEpoch(3), 0.125);
  const cos = new E.WarmupCosineLr(1, 12, 2, 0.1);
  assertAlmostEquals(cos.lrForEpoch(0), 0.1);
  assertAlmostEquals(cos.lrForEpoch(2), 1);
  assertAlmostEquals(cos.lrForEpoch(7), 0.55, 1e-12);
  assertAlmostEquals(cos.lrForEpoch(12), 0.1, 1e-12);
  const plateau = new E.ReduceOnPlateauLr(1, 0.5, 2, 0.1);
  const losses = [5, 4, 4, 4, 4, 4, 4, 4, 4];
  const lrs = losses.map((l, e) => plateau.lrForEpoch(e + 1, l));
  assertEquals(lrs, [1, 1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25]);
  const low = new E.ReduceOnPlateauLr(0.01, 0.5, 0, 0.1);
  assertEquals([3, 3, 3].map((l, e) => low.lrForEpoch(e + 1, l)), [0.01, 0.01, 0.01]);
});

Deno.test("Rng: same seed same stream, sane moments, shuffles and choices", () => {
  const a = new E.Rng(42), b = new E.Rng(42), c = new E.Rng(43);
  const sa = Array.from({ length: 5 }, () => a.nextUint32());
  assertEquals(sa, Array.from({ length: 5 }, () => b.nextUint32()));
  assert(sa.join() !== Array.from({ length: 5 }, () => c.nextUint32()).join());
  const r = new E.Rng(1);
  let s = 0, s2 = 0, u = 0;
  const n = 20000;
  for (let i = 0; i < n; i++) {
    const z = r.normal();
    s += z;
    s2 += z * z;
    u += r.uniform();
  }
  assertAlmostEquals(s / n, 0, 0.03);
  assertAlmostEquals(s2 / n, 1, 0.04);
  assertAlmostEquals(u / n, 0.5, 0.01);
  for (const lambda of [3, 250]) {
    let m = 0;
    for (let i = 0; i < 4000; i++) m += r.poisson(lambda);
    assertAlmostEquals(m / 4000, lambda, 4 * Math.sqrt(lambda / 4000));
  }
  const perm = r.shuffle([...Array(10).keys()]);
  assertEquals([...perm].sort((p, q) => p - q), [...Array(10).keys()]);
  assertEquals(new Set(r.choice(50, 20)).size, 20);
  const w = r.glorotUniform(1000, 30, 70);
  const limit = Math.sqrt(6 / 100);
  assert(w.every((v) => Math.abs(v) <= limit));
  assert(Math.max(...w) > 0.9 * limit);
});

Deno.test("a tiny conv net learns a fixed target: loss falls 10× within 300 Adam steps", () => {
  const rng = new E.Rng(5);
  const x = tensor(Float32Array.from({ length: 2 * 8 * 8 }, () => rng.normal()), [2, 1, 8, 8]);
  // target: a fixed smoothing of the input
  const target = tidy(() => {
    const k = tensor([0.1, 0.2, 0.1, 0.2, 0.3, 0.2, 0.1, 0.2, 0.1], [1, 1, 3, 3]);
    return E.tanh(E.conv2d(x, k));
  });
  const w1 = tensor(rng.glorotUniform(4 * 9, 9, 36), [4, 1, 3, 3], { requiresGrad: true });
  const b1 = tensor(new Float32Array(4), [4], { requiresGrad: true });
  const w2 = tensor(rng.glorotUniform(4 * 9, 36, 9), [1, 4, 3, 3], { requiresGrad: true });
  const opt = new E.Adam([w1, b1, w2], { lr: 1e-2 });
  const lossAt = () =>
    tidy(() => {
      const h = E.relu(E.conv2d(x, w1, b1));
      const loss = E.mean(E.square(E.sub(E.tanh(E.conv2d(h, w2)), target)));
      E.backward(loss);
      return loss.dataSync()[0];
    });
  const first = lossAt();
  opt.step();
  opt.zeroGrad();
  let last = first;
  for (let i = 0; i < 300; i++) {
    last = lossAt();
    opt.step();
    opt.zeroGrad();
  }
  assert(last < first / 10, `loss ${first} → ${last}`);
});
