/**
 * The PtychoPINN generator: the TF CNN of docs/physics.md#network in NCHW (encoder, two decoders
 * with the pad_object central path and the probe_big border path, sigmoid amplitude and π·tanh
 * phase).
 *
 * Ladder: the encoder pools down to an 8 × 8 bottleneck of nfs·128 channels, k = log2(N/8)
 * blocks with filters nfs·128/2^(k−1−i); each decoder has k − 1 blocks with filters
 * nfs·32·2^(k−2−i), ending at N/2 × N/2 with nfs·32 channels; the border path has nfs·2048/N
 * filters. This is the upstream table at N = 64, 128, 256 and, for tests, also gives a sensible
 * N = 32 net (encoder nfs·[64, 128], decoder nfs·[32], border nfs·64).
 *
 * Options (issue 15; absent = the behaviour above): `offsetPlanes` appends two constant input
 * planes per group member, its relative offset (x/N, y/N) from coords_relative, so the input has
 * 3C channels [X_0 … X_{C−1}, x_0, y_0, x_1, y_1, …] and only the first convolution grows;
 * `objectBig: false` makes the heads predict one patch per group (Cout = 1) at gridsize > 1.
 *
 * Parameter names are stable (checkpoints and bundles key on them): "encoder.0.conv1.weight",
 * "decoder_amp.1.conv2.bias", "decoder_phase.head.central.weight",
 * "decoder_amp.head.border_up.conv1.weight", "decoder_amp.head.border.weight".
 */
import {
  concat,
  conv2d,
  type ConvActivation,
  expand,
  maxPool2d,
  mul,
  objectFromHeads,
  reshape,
  type Rng,
  splitChannels,
  type Tensor,
  tensor,
  upsample2x,
} from "../engine/mod.ts";

/** What determines the network's shape. */
export interface NetworkConfig {
  /** Pattern side N (32, 64, 128 or 256). */
  n: number;
  /** Group side; the network sees gridsize² channels. */
  gridsize: number;
  /** Filter multiplier `n_filters_scale` (docs/physics.md#network: 2). */
  nFiltersScale: number;
  /** One output patch per member, merged per group (default: gridsize > 1). */
  objectBig?: boolean;
  /** Each member's offset as two constant input planes (default false). */
  offsetPlanes?: boolean;
}

/** object_big of `cfg`: its own value, else gridsize > 1 (docs/physics.md#network). */
export function isObjectBig(cfg: NetworkConfig): boolean {
  return cfg.objectBig ?? cfg.gridsize > 1;
}

/** Pattern sides the network supports (32 is for tests). */
export const SUPPORTED_N: readonly number[] = [32, 64, 128, 256];

/** Channels the decoder splits off to the border (probe_big) path (TF: 4). */
const BORDER_CHANNELS = 4;

/** One 3 × 3 convolution of the network. */
export interface ConvLayer {
  /** Parameter name prefix, e.g. "encoder.0.conv1". */
  name: string;
  /** Input channels. */
  inC: number;
  /** Output channels. */
  outC: number;
}

/** The filter ladder for N (see the module comment). */
export function ladder(
  cfg: NetworkConfig,
): { encoder: number[]; decoder: number[]; border: number } {
  if (!SUPPORTED_N.includes(cfg.n)) {
    throw new RangeError(`N = ${cfg.n} is not supported (${SUPPORTED_N.join(", ")})`);
  }
  const f = cfg.nFiltersScale;
  const k = Math.log2(cfg.n / 8);
  const encoder = Array.from({ length: k }, (_, i) => f * 128 / 2 ** (k - 1 - i));
  const decoder = Array.from({ length: k - 1 }, (_, i) => f * 32 * 2 ** (k - 2 - i));
  return { encoder, decoder, border: f * 2048 / cfg.n };
}

/** Channels in and out: C = gridsize² in (3C with offset planes); C out if object_big, else 1. */
export function channels(cfg: NetworkConfig): { inC: number; outC: number } {
  const c = cfg.gridsize * cfg.gridsize;
  return { inC: cfg.offsetPlanes ? 3 * c : c, outC: isObjectBig(cfg) && c > 1 ? c : 1 };
}

/**
 * The offset planes of a batch (see the module comment): offsets [B, C, 2] (x, y) pixels →
 * [B, 2C, N, N], plane 2c + j constant at offset component j of member c divided by N.
 */
export function offsetPlanes(offsets: Tensor, n: number): Tensor {
  const [b, c] = offsets.shape;
  return expand(reshape(mul(offsets, 1 / n), [b, 2 * c, 1, 1]), [b, 2 * c, n, n]);
}

/** Every convolution of the network, in parameter order. */
export function convLayers(cfg: NetworkConfig): ConvLayer[] {
  const { encoder, decoder, border } = ladder(cfg);
  const { inC, outC } = channels(cfg);
  const layers: ConvLayer[] = [];
  let c = inC;
  encoder.forEach((f, i) => {
    layers.push({ name: `encoder.${i}.conv1`, inC: c, outC: f });
    layers.push({ name: `encoder.${i}.conv2`, inC: f, outC: f });
    c = f;
  });
  const bottleneck = c;
  for (const head of ["decoder_amp", "decoder_phase"]) {
    c = bottleneck;
    decoder.forEach((f, i) => {
      layers.push({ name: `${head}.${i}.conv1`, inC: c, outC: f });
      layers.push({ name: `${head}.${i}.conv2`, inC: f, outC: f });
      c = f;
    });
    layers.push({ name: `${head}.head.central`, inC: c - BORDER_CHANNELS, outC });
    layers.push({ name: `${head}.head.border_up.conv1`, inC: BORDER_CHANNELS, outC: border });
    layers.push({ name: `${head}.head.border_up.conv2`, inC: border, outC: border });
    layers.push({ name: `${head}.head.border`, inC: border, outC });
  }
  return layers;
}

/** Shapes of every generator parameter by name (weights OCKK, biases O). */
export function parameterShapes(cfg: NetworkConfig): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  for (const l of convLayers(cfg)) {
    shapes.set(`${l.name}.weight`, [l.outC, l.inC, 3, 3]);
    shapes.set(`${l.name}.bias`, [l.outC]);
  }
  return shapes;
}

/** Trainable generator parameters (without the scalar log_scale): 2,340,208 at N=64, gs 2. */
export function parameterCount(cfg: NetworkConfig): number {
  let total = 0;
  for (const shape of parameterShapes(cfg).values()) total += shape.reduce((a, b) => a * b, 1);
  return total;
}

/** Glorot-uniform weights (Keras fans: c·k·k in, o·k·k out) and zero biases, from `rng`. */
export function initialParameters(cfg: NetworkConfig, rng: Rng): Map<string, Float32Array> {
  const values = new Map<string, Float32Array>();
  for (const [name, shape] of parameterShapes(cfg)) {
    const size = shape.reduce((a, b) => a * b, 1);
    if (shape.length === 4) {
      const [o, c, kh, kw] = shape;
      values.set(name, rng.glorotUniform(size, c * kh * kw, o * kh * kw));
    } else {
      values.set(name, new Float32Array(size));
    }
  }
  return values;
}

/** The generator: parameters as leaf tensors and the forward map. */
export class Generator {
  /** Trainable tensors by name, in {@link parameterShapes} order. */
  readonly params: Map<string, Tensor>;
  readonly #ladder: ReturnType<typeof ladder>;

  /** Builds the tensors (requiresGrad) from host values (see {@link initialParameters}). */
  constructor(readonly config: NetworkConfig, values: Map<string, Float32Array>) {
    this.#ladder = ladder(config);
    this.params = new Map();
    for (const [name, shape] of parameterShapes(config)) {
      const v = values.get(name);
      if (v === undefined) throw new Error(`missing parameter '${name}'`);
      this.params.set(name, tensor(v, shape, { requiresGrad: true }));
    }
  }

  #conv(x: Tensor, name: string, activation: ConvActivation = "none"): Tensor {
    const w = this.params.get(`${name}.weight`)!, b = this.params.get(`${name}.bias`)!;
    return conv2d(x, w, b, "same", activation);
  }

  /** conv → ReLU → conv → ReLU, each conv with its bias and ReLU fused into one kernel. */
  #block(x: Tensor, name: string): Tensor {
    return this.#conv(this.#conv(x, `${name}.conv1`, "relu"), `${name}.conv2`, "relu");
  }

  /** One decoder: its head's central and border pre-activation outputs (see objectFromHeads). */
  #decoder(h: Tensor, head: string): [Tensor, Tensor] {
    for (let i = 0; i < this.#ladder.decoder.length; i++) {
      h = upsample2x(this.#block(h, `${head}.${i}`));
    }
    const f = h.shape[1];
    const [core, edge] = splitChannels(h, f - BORDER_CHANNELS);
    const up = upsample2x(this.#block(edge, `${head}.head.border_up`));
    return [this.#conv(core, `${head}.head.central`), this.#conv(up, `${head}.head.border`)];
  }

  /**
   * x [B, C, N, N] (normalised amplitudes) → complex object patches [B, Cout, N, N, 2];
   * `offsets` [B, C, 2] (coords_relative) are needed with offset planes.
   */
  forward(x: Tensor, offsets?: Tensor): Tensor {
    let h = x;
    if (this.config.offsetPlanes) {
      if (offsets === undefined) throw new Error("the offset-plane network needs the offsets");
      h = concat([x, offsetPlanes(offsets, this.config.n)], 1);
    }
    for (let i = 0; i < this.#ladder.encoder.length; i++) {
      h = maxPool2d(this.#block(h, `encoder.${i}`));
    }
    // Amplitude sigmoid, phase π·tanh on the central N/2 × N/2, SiLU on the border: one kernel.
    const [ampCentral, ampBorder] = this.#decoder(h, "decoder_amp");
    const [phaseCentral, phaseBorder] = this.#decoder(h, "decoder_phase");
    return objectFromHeads(ampCentral, ampBorder, phaseCentral, phaseBorder);
  }

  /** Release the tensors. */
  dispose(): void {
    for (const p of this.params.values()) p.dispose();
  }
}
