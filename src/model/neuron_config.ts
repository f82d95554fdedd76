/**
 * The description of a spiking neuron layer (SPEC §1, §2): neuron kinds, the resolved layer
 * configuration, its parameter shapes, and the surrogate gradient by kind and constants.
 *
 * The arithmetic lives in src/ref/ltc.ts (the CPU reference) and shaders/ltc_neuron.wgsl; the
 * surrogate functions ψ and their primitives in src/ref/surrogate.ts (makeSurrogate). What is
 * here is only what a kernel or the model needs to know: names, sizes, defaults, validation.
 */

export type NeuronKind = 'ltc' | 'lif' | 'alif';
/** 'heaviside' is the model; 'smooth' (s = primitive(u' − θ)) exists only for gradient checks. */
export type SpikeMode = 'heaviside' | 'smooth';

// ───────────────────────────── surrogate (SPEC §2) ─────────────────────────────

/**
 * Surrogate gradients for the spike non-linearity s = H(x), x = u' − θ. The kinds and their
 * constants (the functions are in src/ref/surrogate.ts):
 *   multi-gaussian  defaults γ = 0.5, σ = 0.3, k = 6, h = 0.15 (SPEC §2)
 *   gaussian        defaults γ = 0.5, σ = 0.5 (the authors' code: `gamma = 0.5`, `lens = 0.5`)
 *   fast-sigmoid    defaults γ = 1, α = 10 (SuperSpike form)
 */
export type SurrogateKind = 'multi-gaussian' | 'gaussian' | 'fast-sigmoid';

/** A surrogate by name, with optional constants (those not given take the defaults above). */
export interface SurrogateSpec {
  kind: SurrogateKind;
  gamma?: number;
  sigma?: number;
  k?: number;
  h?: number;
  alpha?: number;
}

/**
 * A resolved surrogate: its kind and all its constants (what the kernels compile in). The CPU
 * reference's function-bearing form (SurrogateFns in src/ref/surrogate.ts) extends it.
 */
export interface Surrogate {
  readonly kind: SurrogateKind;
  /** All constants, defaults filled in. */
  readonly params: Readonly<Record<string, number>>;
}

/** The constants of a multi-gaussian surrogate, defaults filled in. */
export function multiGaussianParams(opts: { gamma?: number; sigma?: number; k?: number; h?: number } = {}): { gamma: number; sigma: number; k: number; h: number } {
  return { gamma: opts.gamma ?? 0.5, sigma: opts.sigma ?? 0.3, k: opts.k ?? 6, h: opts.h ?? 0.15 };
}

/** The constants of a gaussian surrogate, defaults filled in. */
export function gaussianParams(opts: { gamma?: number; sigma?: number } = {}): { gamma: number; sigma: number } {
  return { gamma: opts.gamma ?? 0.5, sigma: opts.sigma ?? 0.5 };
}

/** The constants of a fast-sigmoid surrogate, defaults filled in. */
export function fastSigmoidParams(opts: { gamma?: number; alpha?: number } = {}): { gamma: number; alpha: number } {
  return { gamma: opts.gamma ?? 1, alpha: opts.alpha ?? 10 };
}

/**
 * A resolved surrogate from a name or a spec (unknown kinds throw); an existing Surrogate (one
 * with `params`, e.g. the reference's SurrogateFns) is returned as is.
 */
export function resolveSurrogate(spec: SurrogateKind | SurrogateSpec | Surrogate): Surrogate {
  if (typeof spec !== 'string' && 'params' in spec) return spec;
  const s: SurrogateSpec = typeof spec === 'string' ? { kind: spec } : spec;
  switch (s.kind) {
    case 'multi-gaussian':
      return { kind: 'multi-gaussian', params: multiGaussianParams(s) };
    case 'gaussian':
      return { kind: 'gaussian', params: gaussianParams(s) };
    case 'fast-sigmoid':
      return { kind: 'fast-sigmoid', params: fastSigmoidParams(s) };
    default:
      throw new Error(`unknown surrogate kind ${JSON.stringify((s as { kind: unknown }).kind)}`);
  }
}

// ───────────────────────────── dense spiking layer (SPEC §1) ─────────────────────────────

/** User-facing options; everything has a default. */
export interface LtcOptions {
  kind?: NeuronKind; // default 'ltc'
  recurrent?: boolean; // default true
  /** default: true for 'ltc' and 'alif', false for 'lif'; 'lif' with true or 'alif' with false is an error */
  adapt?: boolean;
  b0?: number; // 0.1
  beta?: number; // 1.8 (β_adapt)
  thetaFixed?: number; // 0.5 (threshold when adapt is false)
  surrogate?: SurrogateKind | SurrogateSpec | Surrogate; // 'multi-gaussian'
  spikeFn?: SpikeMode; // 'heaviside'
}

/** Resolved configuration of one layer. */
export interface LtcConfig {
  kind: NeuronKind;
  B: number;
  D: number;
  H: number;
  recurrent: boolean;
  adapt: boolean;
  b0: number;
  beta: number;
  thetaFixed: number;
  surrogate: Surrogate;
  spikeFn: SpikeMode;
}

export function ltcConfig(B: number, D: number, H: number, opts: LtcOptions = {}): LtcConfig {
  const kind = opts.kind ?? 'ltc';
  if (kind !== 'ltc' && kind !== 'lif' && kind !== 'alif') throw new Error(`ltcConfig: unknown neuron kind ${JSON.stringify(kind)}`);
  const adapt = opts.adapt ?? kind !== 'lif';
  if (kind === 'lif' && adapt) throw new Error(`ltcConfig: kind 'lif' has a fixed threshold (adapt must be false)`);
  if (kind === 'alif' && !adapt) throw new Error(`ltcConfig: kind 'alif' is adaptive (adapt must be true)`);
  for (const [n, v] of [['B', B], ['D', D], ['H', H]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`ltcConfig: ${n} must be a positive integer, got ${v}`);
  }
  return {
    kind,
    B,
    D,
    H,
    recurrent: opts.recurrent ?? true,
    adapt,
    b0: opts.b0 ?? 0.1,
    beta: opts.beta ?? 1.8,
    thetaFixed: opts.thetaFixed ?? 0.5,
    surrogate: resolveSurrogate(opts.surrogate ?? 'multi-gaussian'),
    spikeFn: opts.spikeFn ?? 'heaviside',
  };
}

/**
 * Parameter names of a dense spiking layer (the keys of LtcParams in src/ref/ltc.ts):
 * Wx (H, D), Wr (H, H) recurrent only, bx (H), Wtm (H, 2H), btm (H) 'ltc' only, Wta (H, 2H),
 * bta (H) 'ltc' with adapt only, pm (H) 'lif' / 'alif', pa (H) 'alif'.
 */
export type LtcParamName = 'Wx' | 'Wr' | 'bx' | 'Wtm' | 'btm' | 'Wta' | 'bta' | 'pm' | 'pa';

/** Parameter names of a layer with their shapes [rows, cols] (cols = 1 for vectors), in init order. */
export function ltcParamShapes(cfg: Pick<LtcConfig, 'kind' | 'D' | 'H' | 'recurrent' | 'adapt'>): [LtcParamName, number, number][] {
  const { D, H } = cfg;
  const out: [LtcParamName, number, number][] = [['Wx', H, D]];
  if (cfg.recurrent) out.push(['Wr', H, H]);
  out.push(['bx', H, 1]);
  if (cfg.kind === 'ltc') {
    out.push(['Wtm', H, 2 * H], ['btm', H, 1]);
    if (cfg.adapt) out.push(['Wta', H, 2 * H], ['bta', H, 1]);
  } else {
    out.push(['pm', H, 1]);
    if (cfg.adapt) out.push(['pa', H, 1]);
  }
  return out;
}

// ───────────────────────────── the LTC cell (elementwise part, shared with conv layers) ─────────────────────────────

/** What the elementwise part of an LTC step needs to know (a dense LtcConfig or a ConvLtcConfig). */
export interface LtcCellConfig {
  adapt: boolean;
  b0: number;
  beta: number;
  thetaFixed: number;
  surrogate: Surrogate;
  spikeFn: SpikeMode;
}
