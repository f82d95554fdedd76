/**
 * `npm run bench -- peak`: how close our kernels come to what the adapter can do.
 *
 *   npm run bench -- peak [--json] [--quick] [--repeats=N]
 *
 * `--repeats` samples of everything (default 9; 5 with --quick; at least MIN_SAMPLES = 5):
 * tables show ms as median [min–max] and the rate of the best sample (the ceiling is the least
 * disturbed run). JSON: `ms` and `gflops` / `gbs` stay the best sample as before; each line adds
 * samples (count), ms_min, ms_median, ms_max, sample_ms and load_avg_start; the last line is
 * `{"bench":"peak","end":true,"load_avg_end",…}`.
 *
 * 1. Ceilings, from the micro-kernels of bench/peak.wgsl (validated against a float32
 *    simulation / the source before timing; kernel time from timestamp queries, best of the repeats):
 *    FMA rate — long chains of fma on vec4 registers (1, 2, 4 independent chains; x·a + b written
 *    out; scalar chains), the best is the ceiling; copy bandwidth — a vec4 (and f32) copy of
 *    4 MiB and 64 MiB buffers, bytes = read + write, the best vec4 figure is the ceiling.
 * 2. Our kernels: every dispatch of one FPTT step (K = T) of the Add-task network (H = 128,
 *    batch 128) and the S-MNIST network (2 × 256, batch 64), timed one by one (GpuTimer, one
 *    pass each), summed by kernel label repeat by repeat (best = the smallest such sum). Matmuls count 2·M·N·K FLOP per product (from their uniforms; × workgroups in z, the batch);
 *    every kernel counts the bytes of the storage buffers it binds, read-only ones once and
 *    read_write ones twice (read and written: exact for the update's arrays and the += gradients,
 *    an overestimate by the output's size for a matmul that overwrites its output). Each is shown as a fraction of the FMA ceiling and of
 *    the copy ceiling; the matmuls should be judged by the first, the elementwise LTC, loss and
 *    update kernels by the second. The per-dispatch cost (~16–20 µs on SwiftShader) is a floor
 *    that small kernels cannot go below.
 */
import { Engine } from '../src/engine.js';
import { Dispatch } from '../src/gpu/kernel.js';
import { Tensor } from '../src/gpu/tensor.js';
import type { ParamValues } from '../src/gpu/uniforms.js';
import { GpuTimer } from '../src/gpu/timer.js';
import { initNetRef, initialStateRef, netConfig } from '../src/ref/graph.js';
import { Trainer } from '../src/train/trainer.js';
import { Rng } from '../src/util/rng.js';
import { benchEnd, benchStart, fmt, fmtStats, gitCommit, jsonLine, note, numOption, printTable, sampleStats, samplesOption, statsFields, type BenchArgs, type SampleStats } from './common.js';
import { addTaskNet, smnistNet, type BenchNet } from './nets.js';
import PEAK_WGSL from './peak.wgsl';

const UNIFORM = 0x40 | 0x8;
const STORAGE = 0x80 | 0x4 | 0x8;
const MAP_READ = 0x1 | 0x8;
let WG = 64;

interface Micro {
  pipeline: GPUComputePipeline;
  entry: string;
}

function dispatchOf(pipeline: GPUComputePipeline, bindGroup: GPUBindGroup, wg: [number, number, number], label: string): Dispatch {
  // GpuTimer only encodes (pipeline, bind group, dispatch)
  return {
    label,
    encode(pass: GPUComputePassEncoder) {
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(...wg);
    },
  } as unknown as Dispatch;
}

function grid(invocations: number): [number, number, number] {
  const groups = Math.ceil(invocations / WG);
  if (groups <= 65535) return [groups, 1, 1];
  const y = Math.ceil(groups / 65535);
  return [Math.ceil(groups / y), y, 1];
}

class PeakKernels {
  private module: GPUShaderModule;
  private pipelines = new Map<string, GPUComputePipeline>();
  private buffers: GPUBuffer[] = [];
  constructor(readonly engine: Engine) {
    this.module = engine.device.createShaderModule({ code: PEAK_WGSL, label: 'bench/peak.wgsl' });
  }

  pipeline(entry: string): Micro {
    let p = this.pipelines.get(entry);
    if (!p) {
      p = this.engine.device.createComputePipeline({ layout: 'auto', compute: { module: this.module, entryPoint: entry, constants: { WG } }, label: entry });
      this.pipelines.set(entry, p);
    }
    return { pipeline: p, entry };
  }

  buffer(bytes: number, usage: number, label: string, data?: Float32Array | Uint32Array): GPUBuffer {
    const b = this.engine.device.createBuffer({ size: bytes, usage, label });
    if (data) this.engine.device.queue.writeBuffer(b, 0, data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
    this.buffers.push(b);
    return b;
  }

  params(iters: number, n: number, a: number, b: number): GPUBuffer {
    const buf = new ArrayBuffer(16);
    new Uint32Array(buf, 0, 2).set([iters, n]);
    new Float32Array(buf, 8, 2).set([a, b]);
    return this.buffer(16, UNIFORM, 'peak.params', new Uint32Array(buf));
  }

  async read(src: GPUBuffer, bytes: number): Promise<Float32Array> {
    const dev = this.engine.device;
    const st = dev.createBuffer({ size: bytes, usage: MAP_READ, label: 'peak.readback' });
    const enc = dev.createCommandEncoder();
    enc.copyBufferToBuffer(src, 0, st, 0, bytes);
    dev.queue.submit([enc.finish()]);
    await st.mapAsync(1);
    const out = new Float32Array(st.getMappedRange().slice(0));
    st.unmap();
    st.destroy();
    return out;
  }

  destroy(): void {
    for (const b of this.buffers) b.destroy();
    this.buffers = [];
  }
}

interface FmaVariant {
  entry: string;
  /** FLOP per loop iteration and invocation. */
  flopPerIter: number;
  what: string;
}

const FMA_VARIANTS: FmaVariant[] = [
  { entry: 'fma_v4x1', flopPerIter: 8 * 1 * 4 * 2, what: 'fma, 1 vec4 chain' },
  { entry: 'fma_v4x2', flopPerIter: 8 * 2 * 4 * 2, what: 'fma, 2 vec4 chains' },
  { entry: 'fma_v4x4', flopPerIter: 8 * 4 * 4 * 2, what: 'fma, 4 vec4 chains' },
  { entry: 'muladd_v4x2', flopPerIter: 8 * 2 * 4 * 2, what: 'x*a+b, 2 vec4 chains' },
  { entry: 'fma_f32x4', flopPerIter: 8 * 4 * 1 * 2, what: 'fma, 4 f32 chains' },
];

/** x after `steps` updates x ← fround(x·a + b) (float32 simulation of one chain). */
function chainF32(x0: number, a: number, b: number, steps: number): number {
  let x = Math.fround(x0);
  const af = Math.fround(a);
  const bf = Math.fround(b);
  for (let k = 0; k < steps; k++) {
    const y = Math.fround(Math.fround(x * af) + bf);
    if (y === x) break; // converged: the chain stays put
    x = y;
  }
  return x;
}

async function measureFma(pk: PeakKernels, timer: GpuTimer, v: FmaVariant, invocations: number, repeats: number, targetMs: number) {
  const a = 0.75;
  const b = 0.25; // fixed point 1, reached in float32 after a few dozen steps
  const sink = pk.buffer(invocations * 16, STORAGE, 'peak.sink');
  const p = pk.pipeline(v.entry);
  const make = (iters: number) => {
    const prm = pk.params(iters, invocations, a, b);
    const bg = pk.engine.device.createBindGroup({
      layout: p.pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: prm } },
        { binding: 1, resource: { buffer: sink } },
      ],
    });
    return dispatchOf(p.pipeline, bg, grid(invocations), v.entry);
  };
  // calibrate the iteration count to ~targetMs
  let iters = 64;
  let probe = (await timer.timeDispatches([[make(iters)]], 1, 1)).ms[0]!;
  while (probe < targetMs / 4 && iters < 1 << 20) {
    iters *= 4;
    probe = (await timer.timeDispatches([[make(iters)]], 1, 0)).ms[0]!;
  }
  iters = Math.max(64, Math.min(1 << 22, Math.round((iters * targetMs) / Math.max(probe, 1e-3))));
  const d = make(iters);
  const t = await timer.timeDispatches([[d]], repeats, 1);
  const samples = t.samples[0]!;
  const stats = sampleStats(samples, `peak ${v.entry}`);
  const ms = stats.min;
  // validate a few invocations against a float32 simulation (fma rounds once: tolerance)
  const out = await pk.read(sink, Math.min(invocations, 4096) * 16);
  const chains = v.entry === 'fma_v4x1' ? 1 : v.entry === 'fma_v4x4' || v.entry === 'fma_f32x4' ? 4 : 2;
  const steps = iters * 8;
  for (const i of [0, 1, 7, 1023, 1025, Math.min(invocations, 4096) - 1]) {
    const s = (i % 1024) * b;
    const start = [s, s + b, s + 2 * b, s + 3 * b];
    for (let lane = 0; lane < 4; lane++) {
      let want: number;
      if (v.entry === 'fma_f32x4') want = chainF32(start[lane]!, a, b, steps);
      else {
        want = 0;
        for (let c = 0; c < chains; c++) want += chainF32(start[lane]! + c * b, a, b, steps);
      }
      const got = out[i * 4 + lane]!;
      if (!(Math.abs(got - want) <= 1e-4 + 1e-4 * Math.abs(want))) {
        throw new Error(`peak: ${v.entry} invocation ${i} lane ${lane}: got ${got}, expected ${want} (float32 simulation)`);
      }
    }
  }
  const flop = v.flopPerIter * iters * invocations;
  return { ms, gflops: flop / (ms * 1e6), iters, stats, samples };
}

type MemEntry = 'copy_v4' | 'copy_f32' | 'copy_v4_loop' | 'copy_v4_chunk' | 'read_v4_chunk';

/** A copy (or read) micro-kernel over `bytes`; `per` = vec4 per invocation (loop) or per lane (chunk). */
async function measureMem(pk: PeakKernels, timer: GpuTimer, entry: MemEntry, bytes: number, repeats: number, per = 1) {
  const floats = bytes / 4;
  const src = new Float32Array(floats);
  for (let i = 0; i < floats; i++) src[i] = (i % 9973) * 0.5;
  const a = pk.buffer(bytes, STORAGE, 'peak.src', src);
  const bdst = pk.buffer(bytes, STORAGE, 'peak.dst');
  const n = entry === 'copy_f32' ? floats : floats / 4;
  const p = pk.pipeline(entry);
  const prm = pk.params(per, n, 0, 0);
  const bg = pk.engine.device.createBindGroup({
    layout: p.pipeline.getBindGroupLayout(0),
    entries: [
      { binding: 0, resource: { buffer: prm } },
      { binding: 1, resource: { buffer: a } },
      { binding: 2, resource: { buffer: bdst } },
    ],
  });
  const chunked = entry === 'copy_v4_chunk' || entry === 'read_v4_chunk';
  const invocations = chunked ? Math.ceil(n / (per * WG)) * WG : Math.ceil(n / per);
  const d = dispatchOf(p.pipeline, bg, grid(invocations), entry);
  const t = await timer.timeDispatches([[d]], repeats, 1);
  const out = await pk.read(bdst, bytes);
  if (entry === 'read_v4_chunk') {
    // lane l of chunk c sums the vec4s start + l, start + l + WG, … of its chunk
    for (const [c, l] of [[0, 0], [0, WG - 1], [1, 3], [invocations / WG - 1, 1]] as const) {
      const start = c * per * WG;
      for (let lane = 0; lane < 4; lane++) {
        let want = 0;
        for (let k = start + l; k < Math.min(start + per * WG, n); k += WG) want += src[4 * k + lane]!;
        const got = out[4 * (c * WG + l) + lane]!;
        if (!(Math.abs(got - want) <= 1e-3 * Math.abs(want) + 1e-3)) throw new Error(`peak: ${entry} chunk ${c} lane ${l}: got ${got}, expected ${want}`);
      }
    }
  } else {
    for (const i of [0, 1, 5, floats >> 1, floats - 1]) {
      if (out[i] !== src[i]) throw new Error(`peak: ${entry} element ${i}: got ${out[i]}, expected ${src[i]}`);
    }
  }
  a.destroy();
  bdst.destroy();
  const samples = t.samples[0]!;
  const stats = sampleStats(samples, `peak ${entry} ${bytes >> 20} MiB`);
  const ms = stats.min;
  const moved = entry === 'read_v4_chunk' ? bytes : 2 * bytes;
  return { ms, gbs: moved / (ms * 1e6), stats, samples };
}

// ---- our kernels ---------------------------------------------------------------------------

interface DispatchInfo {
  params: ParamValues | null;
  bytes: number;
}

/**
 * Record, for every dispatch the engine prepares from now on, its uniform values (kept up to
 * date through setParams) and the bytes of the storage buffers it binds.
 */
function instrument(engine: Engine): Map<Dispatch, DispatchInfo> {
  const info = new Map<Dispatch, DispatchInfo>();
  const orig = engine.dispatch.bind(engine);
  engine.dispatch = (kernel, bindings, params, workgroups, label) => {
    const d = orig(kernel, bindings, params, workgroups, label);
    let bytes = 0;
    for (const [name, b] of Object.entries(bindings)) {
      if (!b) continue;
      const size = b instanceof Tensor ? b.byteLength : (b.size ?? b.buffer.size - (b.offset ?? 0));
      // read_write bindings are read and written (the update's six arrays, the += gradients)
      const rw = kernel.spec.storage.find((x) => x.name === name)?.access === 'read_write';
      bytes += rw ? 2 * size : size;
    }
    info.set(d, { params: params ? { ...params } : null, bytes });
    return d;
  };
  const proto = Dispatch.prototype;
  const origSet = proto.setParams;
  proto.setParams = function (this: Dispatch, values: ParamValues): void {
    origSet.call(this, values);
    const i = info.get(this);
    if (i) i.params = { ...values };
  };
  return info;
}

function flopsOf(d: Dispatch, i: DispatchInfo | undefined): number {
  const p = i?.params as Record<string, number> | null | undefined;
  if (!p) return 0;
  // batched products (both gates of a layer in one dispatch): one per workgroup_id.z
  const batch = d.workgroups[2];
  switch (d.kernel.spec.name) {
    case 'matmul_forward':
      return 2 * p['M']! * p['N']! * (p['K1']! + p['K2']!) * batch;
    case 'matmul_backward_input':
      // z_sum products summed into each output (a layer's two gates' shares of dI)
      return 2 * p['M']! * p['N']! * p['K']! * batch * Math.max(1, p['z_sum'] ?? 1);
    case 'matmul_backward_weight':
      return 2 * p['M']! * p['N']! * p['K']! * batch;
    default:
      return 0;
  }
}

interface KernelRow {
  label: string;
  count: number;
  /** Best sample: the least of the per-repeat sums over this label's dispatches. */
  ms: number;
  flop: number;
  bytes: number;
  /** Per repeat, the summed time of this label's dispatches. */
  samples: number[];
  stats: SampleStats;
}

async function profileNet(
  engine: Engine,
  info: Map<Dispatch, DispatchInfo>,
  net: BenchNet,
  repeats: number,
): Promise<{ rows: KernelRow[]; stepMs: number; stepWallMs: number; kernelStats: SampleStats; kernelSamples: number[]; wallStats: SampleStats; wallSamples: number[] }> {
  const cfg = netConfig(net.spec);
  const T = 784;
  const trainer = new Trainer(engine, net.spec, { method: 'fptt', steps: T, params: initNetRef(cfg, 1).params, fptt: { alpha: net.alpha }, optimizer: { kind: net.optimizer } });
  const classification = cfg.heads[0]!.head!.loss === 'xent';
  const x = new Rng(3).uniformArray(cfg.B * cfg.D, 0, 1);
  try {
    trainer.beginSequence({ fillStep: (_t, out) => out.set(x), ...(classification ? { labels: new Int32Array(cfg.B) } : { targets: new Float32Array(cfg.B).fill(1) }) }, initialStateRef(cfg, new Rng(1)));
    for (let p = 0; p < 3; p++) trainer.trainChunk(p);
    await engine.sync();
    // wall time of whole steps, for comparison with the sum of the kernels
    const walls: number[] = [];
    for (let r = 0; r < repeats; r++) {
      const t0 = performance.now();
      for (let p = 3; p < 8; p++) trainer.trainChunk(p);
      await engine.sync();
      walls.push((performance.now() - t0) / 5);
    }
    const list = trainer.chunkDispatchList(8);
    const timer = new GpuTimer(engine);
    const t = await timer.timeDispatches(list.map((d) => [d]), repeats, 1);
    const by = new Map<string, Omit<KernelRow, 'ms' | 'stats'>>();
    list.forEach((d, k) => {
      const label = d.label.replace(/\[\d+\]/g, '');
      const r = by.get(label) ?? { label, count: 0, flop: 0, bytes: 0, samples: new Array<number>(repeats).fill(0) };
      r.count++;
      t.samples[k]!.forEach((ms, rep) => (r.samples[rep] = r.samples[rep]! + ms));
      r.flop += flopsOf(d, info.get(d));
      r.bytes += info.get(d)?.bytes ?? 0;
      by.set(label, r);
    });
    const rows: KernelRow[] = [...by.values()]
      .map((r) => {
        const stats = sampleStats(r.samples, `peak ${net.name} ${r.label}`);
        return { ...r, ms: stats.min, stats };
      })
      .sort((a, b) => b.ms - a.ms);
    // the whole step's kernel time, repeat by repeat
    const kernelSamples = Array.from({ length: repeats }, (_, rep) => list.reduce((sum, _d, k) => sum + t.samples[k]![rep]!, 0));
    const kernelStats = sampleStats(kernelSamples, `peak ${net.name} summed kernel time`);
    const wallStats = sampleStats(walls, `peak ${net.name} wall time per step`);
    return { rows, stepMs: kernelStats.min, stepWallMs: wallStats.min, kernelStats, kernelSamples, wallStats, wallSamples: walls };
  } finally {
    trainer.destroy();
  }
}

export async function runPeakBench(args: BenchArgs): Promise<void> {
  const quick = args.quick;
  const repeats = samplesOption(args, 'repeats', quick ? 5 : 9);
  WG = numOption(args, 'wg', 64);
  // exact timestamps (SwiftShader quantises them to 65.5 µs otherwise)
  const engine = await Engine.create({ dawnFlags: ['disable-dawn-features=timestamp_quantization'] });
  const commit = gitCommit();
  const adapter = engine.adapterName;
  benchStart('peak', engine, quick ? ' (--quick)' : '');
  const timer = new GpuTimer(engine);
  note(`kernel times by ${timer.method === 'timestamp' ? 'timestamp queries' : 'the wall clock to onSubmittedWorkDone (no timestamp-query: includes submit latency)'}; ${repeats} samples each: ms as median [min–max], rates from the best sample (ceilings and our kernels alike: the least disturbed run)`);
  const base = { bench: 'peak', adapter, commit };
  const info = instrument(engine);

  // ---- ceilings ----
  const pk = new PeakKernels(engine);
  const invocations = numOption(args, 'invocations', 16384);
  const targetMs = quick ? 40 : 100;
  const fmaRows: (string | number)[][] = [];
  let fmaPeak = 0;
  for (const v of FMA_VARIANTS) {
    const r = await measureFma(pk, timer, v, invocations, repeats, targetMs);
    fmaPeak = Math.max(fmaPeak, r.gflops);
    fmaRows.push([v.entry, v.what, r.iters * 8, fmtStats(r.stats), fmt(r.gflops)]);
    jsonLine({ ...base, case: 'fma', kernel: v.entry, invocations, chain_length: r.iters * 8, ms: r.ms, gflops: r.gflops, ...statsFields(r.stats, r.samples) });
  }
  const copyRows: (string | number)[][] = [];
  let copyPeak = 0;
  const copies: [MemEntry, number][] = [
    ['copy_v4', 1],
    ['copy_v4_loop', 4],
    ['copy_v4_loop', 16],
    ['copy_v4_chunk', 16],
    ['copy_v4_chunk', 64],
    ['copy_f32', 1],
    ['read_v4_chunk', 64],
  ];
  let readPeak = 0;
  for (const bytes of [4 << 20, 64 << 20]) {
    for (const [entry, per] of copies) {
      const r = await measureMem(pk, timer, entry, bytes, repeats, per);
      if (entry === 'read_v4_chunk') readPeak = Math.max(readPeak, r.gbs);
      else if (entry !== 'copy_f32') copyPeak = Math.max(copyPeak, r.gbs);
      const name = entry === 'copy_v4_loop' ? `${entry} (${per} vec4/inv.)` : entry.endsWith('_chunk') ? `${entry} (${per}·WG vec4/wg)` : entry;
      copyRows.push([name, `${bytes >> 20} MiB`, fmtStats(r.stats), fmt(r.gbs)]);
      jsonLine({ ...base, case: entry.startsWith('read') ? 'read' : 'copy', kernel: entry, per_invocation: per, bytes, ms: r.ms, gbs: r.gbs, ...statsFields(r.stats, r.samples) });
    }
  }
  pk.destroy();
  note('');
  note(`FMA rate (${invocations} invocations, validated against a float32 simulation):`);
  printTable(['kernel', 'what', 'chain length', 'ms median [min–max]', 'GFLOP/s (best)'], fmaRows);
  note('');
  note(`copy bandwidth (bytes read + written; read_v4_chunk: bytes read; workgroup ${WG}; validated):`);
  printTable(['kernel', 'buffer', 'ms median [min–max]', 'GB/s (best)'], copyRows);
  note('');
  note(`ceilings: FMA ${fmt(fmaPeak)} GFLOP/s, copy ${fmt(copyPeak)} GB/s (read only: ${fmt(readPeak)} GB/s)`);
  jsonLine({ ...base, case: 'ceilings', gflops: fmaPeak, gbs: copyPeak, read_gbs: readPeak });

  // ---- our kernels ----
  for (const net of [addTaskNet(128, 128), smnistNet(256, 64)]) {
    const { rows, stepMs, stepWallMs, kernelStats, kernelSamples, wallStats, wallSamples } = await profileNet(engine, info, net, repeats);
    const flop = rows.reduce((s, r) => s + r.flop, 0);
    const mmRows = rows.filter((r) => r.flop > 0);
    const mmMs = mmRows.reduce((s, r) => s + r.ms, 0);
    const mmFlop = mmRows.reduce((s, r) => s + r.flop, 0);
    note('');
    note(`${net.name}, one FPTT step (K = T): ${rows.reduce((s, r) => s + r.count, 0)} dispatches; summed kernel time ${fmtStats(kernelStats)} ms, wall per step (pipelined) ${fmtStats(wallStats)} ms (median [min–max]); fractions below from the best samples`);
    note(`  matmuls: ${fmt(mmFlop / 1e6)} MFLOP in ${fmt(mmMs)} ms = ${fmt(mmFlop / (mmMs * 1e6))} GFLOP/s = ${fmt((100 * mmFlop) / (mmMs * 1e6) / fmaPeak)}% of the FMA ceiling; the whole step ${fmt(flop / (stepMs * 1e6))} GFLOP/s (${fmt((100 * flop) / (stepMs * 1e6) / fmaPeak)}%)`);
    // the fused FPTT update as one memory-bound kernel family (issue: ≥ 60 % of the copy ceiling)
    const upd = rows.filter((r) => r.label.startsWith('fptt_update.') || r.label.startsWith('grad_update.'));
    if (upd.length) {
      const uBytes = upd.reduce((a, r) => a + r.bytes, 0);
      const uBest = upd.reduce((a, r) => a + r.ms, 0);
      const uMedian = upd.reduce((a, r) => a + r.stats.median, 0);
      const bestGbs = uBytes / (uBest * 1e6);
      const medGbs = uBytes / (uMedian * 1e6);
      note(`  FPTT update (${upd.map((r) => r.label).join(' + ')}): ${fmt(uBytes / 1e6)} MB read + written in ${fmt(uBest)} ms (best; median ${fmt(uMedian)} ms) = ${fmt(bestGbs)} GB/s = ${fmt((100 * bestGbs) / copyPeak)}% of the copy ceiling (median: ${fmt((100 * medGbs) / copyPeak)}%)`);
      jsonLine({ ...base, case: 'update', net: net.name, bytes: uBytes, ms_best: uBest, ms_median: uMedian, gbs_best: bestGbs, gbs_median: medGbs, frac_copy_best: bestGbs / copyPeak, frac_copy_median: medGbs / copyPeak });
    }
    printTable(
      ['kernel', 'n', 'ms median [min–max]', 'GFLOP/s (best)', '% FMA', 'GB/s (best)', '% copy'],
      rows.map((r) => {
        const gf = r.flop / (r.ms * 1e6);
        const gb = r.bytes / (r.ms * 1e6);
        return [r.label, r.count, fmtStats(r.stats), r.flop > 0 ? fmt(gf) : '-', r.flop > 0 ? fmt((100 * gf) / fmaPeak) : '-', fmt(gb), fmt((100 * gb) / copyPeak)];
      }),
    );
    for (const r of rows) {
      jsonLine({ ...base, case: 'kernel', net: net.name, kernel: r.label, count: r.count, ms: r.ms, flop: r.flop, bytes: r.bytes, gflops: r.flop / (r.ms * 1e6), gbs: r.bytes / (r.ms * 1e6), frac_fma: r.flop / (r.ms * 1e6) / fmaPeak, frac_copy: r.bytes / (r.ms * 1e6) / copyPeak, ...statsFields(r.stats, r.samples) });
    }
    const over = rows.filter((r) => r.bytes / (r.ms * 1e6) > copyPeak || r.flop / (r.ms * 1e6) > fmaPeak).map((r) => r.label);
    if (over.length) note(`  above 100%: ${over.join(', ')} — the ceiling run was disturbed (shared host) or the bound-bytes count overstates their traffic`);
    jsonLine({
      ...base,
      case: 'step',
      net: net.name,
      kernel_ms: stepMs,
      wall_ms: stepWallMs,
      flop,
      matmul_gflops: mmFlop / (mmMs * 1e6),
      frac_fma_matmul: mmFlop / (mmMs * 1e6) / fmaPeak,
      ...statsFields(kernelStats, kernelSamples, 'ms', 'kernel_'),
      ...statsFields(wallStats, wallSamples, 'ms', 'wall_'),
    });
  }
  benchEnd();
}
