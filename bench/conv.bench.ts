/**
 * Convolution benchmark: `npm run bench -- conv [--json] [--quick] [--repeats=N]`.
 *
 * Our conv2d forward, input gradient and weight gradient (shaders/conv2d.wgsl) against tfjs's
 * conv2d on the webgpu backend (same adapter, same process) and the wasm backend, on the shapes
 * the conv LTC networks use. Every result is validated against the CPU reference
 * (src/ref/conv2d.ts) before it is timed.
 *   ours       kernel time from timestamp queries
 *   tfjs fwd   wall clock of tf.conv2d + `await data()` (NHWC, the layout tfjs is fastest in)
 *   tfjs f+b   wall clock of tf.grads of conv2d w.r.t. input and filter (forward + both backward)
 * FLOPs per pass: 2·N·Cout·OH·OW·Cin·KH·KW. Every figure is from `--repeats` samples (default and
 * minimum MIN_SAMPLES = 5, also with --quick, which only leaves out the largest shape), shown as
 * GFLOP/s median [min–max]; ours f+b sums the three kernels repeat by repeat.
 * JSON, one line per shape: the older fields (ours_fwd_gflops, …, tfjs_wasm_fb_gflops: medians),
 * and for each of them `<field>_min`, `<field>_median`, `<field>_max`, `<prefix>sample_gflops`;
 * samples (count); load_avg_start; the last line `{"bench":"conv","end":true,"load_avg_end",…}`.
 */
import { Engine } from '../src/engine.js';
import { GpuTimer } from '../src/gpu/timer.js';
import { conv2dBackwardInput, conv2dBackwardWeight, conv2dForward } from '../src/kernels/conv2d.js';
import { conv2dBackwardInputRef, conv2dBackwardWeightRef, conv2dForwardRef } from '../src/ref/conv2d.js';
import { conv2dGeometry, type Conv2dGeometry } from '../src/model/conv_config.js';
import { benchEnd, benchStart, fmt, fmtStats, jsonLine, MIN_SAMPLES, note, printTable, randomArray, sampleStats, samplesOption, timeWall, validateClose, type BenchArgs, type SampleStats } from './common.js';

interface Shape {
  name: string;
  N: number;
  Cin: number;
  H: number;
  W: number;
  Cout: number;
  K: number;
  stride: number;
  padding: number;
}

const SHAPES: Shape[] = [
  { name: 'fmnist l1 (1→32, 28²)', N: 16, Cin: 1, H: 28, W: 28, Cout: 32, K: 3, stride: 1, padding: 1 },
  { name: 'fmnist gate (32→32, 28²)', N: 16, Cin: 32, H: 28, W: 28, Cout: 32, K: 3, stride: 1, padding: 1 },
  { name: 'fmnist l2 (32→128, 14²)', N: 16, Cin: 32, H: 14, W: 14, Cout: 128, K: 3, stride: 1, padding: 1 },
  { name: 'dvs l1 (2→64, 128², stride 2)', N: 2, Cin: 2, H: 128, W: 128, Cout: 64, K: 3, stride: 2, padding: 1 },
  { name: 'dvs gate (128→128, 32²)', N: 2, Cin: 128, H: 32, W: 32, Cout: 128, K: 3, stride: 1, padding: 1 },
];

const flops = (g: Conv2dGeometry) => 2 * g.N * g.Cout * g.OH * g.OW * g.Cin * g.KH * g.KW;

/** NCHW → NHWC */
function toNhwc(a: Float32Array, N: number, C: number, H: number, W: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) out[((n * H + y) * W + x) * C + c] = a[((n * C + c) * H + y) * W + x]!;
  return out;
}

/** OIHW → HWIO (tfjs filter layout) */
function toHwio(w: Float32Array, O: number, I: number, K: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let o = 0; o < O; o++) for (let i = 0; i < I; i++) for (let y = 0; y < K; y++) for (let x = 0; x < K; x++) out[((y * K + x) * I + i) * O + o] = w[((o * I + i) * K + y) * K + x]!;
  return out;
}

/** GFLOP/s of each sample and their statistics. */
interface Figure {
  gflops: number[];
  stats: SampleStats;
}

function figure(flop: number, msSamples: readonly number[], what: string): Figure {
  const gflops = msSamples.map((ms) => flop / (ms * 1e6));
  return { gflops, stats: sampleStats(gflops, what) };
}

interface Row {
  shape: Shape;
  g: Conv2dGeometry;
  fwd: Figure;
  bwdIn: Figure;
  bwdW: Figure;
  /** forward + both gradients, summed repeat by repeat; ms median for the ratios */
  fb: Figure;
  fbMs: number;
  tfjs: Record<string, { fwd: Figure; fb: Figure | null; fbMs: number | null } | null>;
}

export async function runConvBench(args: BenchArgs): Promise<void> {
  const repeats = samplesOption(args, 'repeats', MIN_SAMPLES);
  const e = await Engine.create({ dawnFlags: ['disable-dawn-features=timestamp_quantization'] });
  const timer = new GpuTimer(e);
  benchStart('conv', e, args.quick ? ' (--quick: without the largest shape)' : '');
  const shapes = args.quick ? SHAPES.filter((_, i) => i !== 3) : SHAPES;
  const rows: Row[] = [];
  const problems = shapes.map((s, i) => {
    const g = conv2dGeometry(s.N, s.Cin, s.H, s.W, s.Cout, s.K, s.K, { stride: s.stride, padding: s.padding });
    const x = randomArray(s.N * s.Cin * s.H * s.W, 10 + i);
    const w = randomArray(s.Cout * s.Cin * s.K * s.K, 20 + i);
    const dy = randomArray(s.N * s.Cout * g.OH * g.OW, 30 + i);
    return { s, g, x, w, dy };
  });
  for (const { s, g, x, w, dy } of problems) {
    const X = e.tensor([s.N, s.Cin, s.H, s.W], { label: 'x', data: x });
    const Wt = e.tensor([s.Cout, s.Cin, s.K, s.K], { label: 'w', data: w });
    const DY = e.tensor([s.N, s.Cout, g.OH, g.OW], { label: 'dy', data: dy });
    const Y = e.tensor([s.N, s.Cout, g.OH, g.OW], { label: 'y' });
    const DX = e.tensor([s.N, s.Cin, s.H, s.W], { label: 'dx' });
    const DW = e.tensor([s.Cout, s.Cin, s.K, s.K], { label: 'dw' });
    const geo = { stride: s.stride, padding: s.padding };
    const ds = [
      conv2dForward(e, { x: X, w: Wt, y: Y, ...geo }),
      conv2dBackwardInput(e, { dy: DY, w: Wt, dx: DX, ...geo }),
      conv2dBackwardWeight(e, { dy: DY, x: X, dw: DW, ...geo }),
    ];
    e.run(ds, 'validate');
    const [y, dx, dw] = await e.readMany([Y, DX, DW]);
    validateClose(y!, conv2dForwardRef(x, w, null, g), `ours forward ${s.name}`);
    validateClose(dx!, conv2dBackwardInputRef(dy, w, g), `ours input gradient ${s.name}`);
    validateClose(dw!, conv2dBackwardWeightRef(dy, x, g, false).dw, `ours weight gradient ${s.name}`);
    const t = await timer.timeDispatches(ds.map((d) => [d]), repeats, 1);
    const f = flops(g);
    const fbSamples = t.samples[0]!.map((ms, r) => ms + t.samples[1]![r]! + t.samples[2]![r]!);
    rows.push({
      shape: s,
      g,
      fwd: figure(f, t.samples[0]!, `conv ours forward ${s.name}`),
      bwdIn: figure(f, t.samples[1]!, `conv ours input gradient ${s.name}`),
      bwdW: figure(f, t.samples[2]!, `conv ours weight gradient ${s.name}`),
      fb: figure(3 * f, fbSamples, `conv ours f+b ${s.name}`),
      fbMs: sampleStats(fbSamples, `conv ours f+b ${s.name}`).median,
      tfjs: {},
    });
    const msOf = (k: number) => fmtStats(sampleStats(t.samples[k]!, `conv ours ${s.name}`));
    note(`  ours ${s.name}: ms median [min–max] forward ${msOf(0)}, input grad ${msOf(1)}, weight grad ${msOf(2)}`);
    for (const tt of [X, Wt, DY, Y, DX, DW]) tt.destroy();
  }

  if (args.options.get('no-tfjs') !== 'true') {
    const { initTfjsBackend } = await import('./tfjs/backends.js');
    const { tf } = await import('./tfjs/tf.js');
    for (const backend of ['tfjs-webgpu', 'tfjs-wasm'] as const) {
      const info = await initTfjsBackend(backend);
      if (info.adapter) note(`tfjs-webgpu adapter: ${[info.adapter.vendor, info.adapter.architecture, info.adapter.description].filter(Boolean).join(' / ')}`);
      const reps = repeats;
      for (let i = 0; i < problems.length; i++) {
        const { s, g, x, w } = problems[i]!;
        const row = rows[i]!;
        const xt = tf.tensor4d(toNhwc(x, s.N, s.Cin, s.H, s.W), [s.N, s.H, s.W, s.Cin]);
        const ft = tf.tensor4d(toHwio(w, s.Cout, s.Cin, s.K), [s.K, s.K, s.Cin, s.Cout]);
        const pad = [[0, 0], [s.padding, s.padding], [s.padding, s.padding], [0, 0]] as [[number, number], [number, number], [number, number], [number, number]];
        const conv = (a: typeof xt, f: typeof ft) => tf.conv2d(a, f, s.stride, pad);
        try {
          const y0 = conv(xt, ft);
          const got = (await y0.data()) as Float32Array;
          y0.dispose();
          validateClose(got, toNhwc(conv2dForwardRef(x, w, null, g), s.N, s.Cout, g.OH, g.OW), `${backend} forward ${s.name}`);
          const fwd = await timeWall(async () => {
            const yy = conv(xt, ft);
            await yy.data();
            yy.dispose();
          }, reps, 1);
          const grads = tf.grads((a, f) => tf.sum(conv(a as typeof xt, f as typeof ft)));
          let fbTimes: number[] | null = null;
          try {
            fbTimes = (
              await timeWall(async () => {
                const gs = grads([xt, ft]);
                await Promise.all(gs.map((q) => q.data()));
                gs.forEach((q) => q.dispose());
              }, reps, 1)
            ).samples;
          } catch (err) {
            // e.g. tfjs-wasm 4.22 has no Conv2DBackpropFilter kernel
            note(`  ${backend} ${s.name}: backward not available (${(err as Error).message.split('\n')[0]})`);
          }
          const fbMsStats = fbTimes ? sampleStats(fbTimes, `conv ${backend} f+b ${s.name}`) : null;
          const fb = fbTimes ? figure(3 * flops(g), fbTimes, `conv ${backend} f+b ${s.name}`) : null;
          const fbMs = fbMsStats?.median ?? null;
          const fbLine = fmtStats(fbMsStats);
          row.tfjs[backend] = { fwd: figure(flops(g), fwd.samples, `conv ${backend} forward ${s.name}`), fb, fbMs };
          note(`  ${backend} ${s.name}: ms median [min–max] forward ${fmtStats(sampleStats(fwd.samples, `conv ${backend} forward ${s.name}`))}, forward+backward ${fbLine}`);
        } finally {
          xt.dispose();
          ft.dispose();
        }
      }
    }
  }

  note('');
  note(`GFLOP/s, median [min–max] of ${repeats} samples. ours: kernel time; f+b = forward + input gradient + weight gradient`);
  printTable(
    ['shape', 'ours fwd', 'ours bwd-in', 'ours bwd-w', 'ours f+b'],
    rows.map((r) => [r.shape.name, fmtStats(r.fwd.stats), fmtStats(r.bwdIn.stats), fmtStats(r.bwdW.stats), fmtStats(r.fb.stats)]),
  );
  const tfjsRan = rows.some((r) => Object.keys(r.tfjs).length > 0);
  if (tfjsRan) {
    note('');
    note(`tfjs GFLOP/s by wall clock incl. readback, median [min–max] of ${repeats} samples; "f+b vs": tfjs f+b median ms / ours f+b median ms`);
    const vs = (r: Row, b: string) => {
      const ms = r.tfjs[b]?.fbMs;
      return ms ? `${fmt(ms / r.fbMs)}×` : '-';
    };
    printTable(
      ['shape', 'tfjs-webgpu fwd', 'tfjs-webgpu f+b', 'tfjs-wasm fwd', 'tfjs-wasm f+b', 'f+b vs webgpu', 'f+b vs wasm'],
      rows.map((r) => [
        r.shape.name,
        fmtStats(r.tfjs['tfjs-webgpu']?.fwd.stats),
        fmtStats(r.tfjs['tfjs-webgpu']?.fb?.stats),
        fmtStats(r.tfjs['tfjs-wasm']?.fwd.stats),
        fmtStats(r.tfjs['tfjs-wasm']?.fb?.stats),
        vs(r, 'tfjs-webgpu'),
        vs(r, 'tfjs-wasm'),
      ]),
    );
  }
  /** `<key>: median` and `<key>_min/_median/_max`, `<prefix>sample_gflops`; nulls when not measured. */
  const fields = (key: string, fig: Figure | null | undefined): Record<string, unknown> => {
    const prefix = key.replace(/gflops$/, '');
    if (!fig) return { [key]: null, [`${key}_min`]: null, [`${key}_median`]: null, [`${key}_max`]: null };
    return { [key]: fig.stats.median, [`${key}_min`]: fig.stats.min, [`${key}_median`]: fig.stats.median, [`${key}_max`]: fig.stats.max, [`${prefix}sample_gflops`]: fig.gflops };
  };
  for (const r of rows) {
    jsonLine({
      bench: 'conv',
      shape: r.shape.name,
      ...fields('ours_fwd_gflops', r.fwd),
      ...fields('ours_bwd_input_gflops', r.bwdIn),
      ...fields('ours_bwd_weight_gflops', r.bwdW),
      ...fields('ours_fb_gflops', r.fb),
      ...fields('tfjs_webgpu_fwd_gflops', r.tfjs['tfjs-webgpu']?.fwd),
      ...fields('tfjs_webgpu_fb_gflops', r.tfjs['tfjs-webgpu']?.fb),
      ...fields('tfjs_wasm_fwd_gflops', r.tfjs['tfjs-wasm']?.fwd),
      ...fields('tfjs_wasm_fb_gflops', r.tfjs['tfjs-wasm']?.fb),
      samples: repeats,
      adapter: e.adapterName,
    });
  }
  benchEnd();
}
