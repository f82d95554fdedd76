/**
 * The live training page. It uses the engine only through the public bundle (./webgpu-snn.js,
 * built from src/index.ts): build a TrainingSession for the chosen task, drive it with a
 * FrameLoop (≤ budget ms of main-thread work per turn, waiting for the GPU between turns), read
 * metrics every ~200 ms and record the states of one sequence every ~1.5 s for the raster and
 * membrane plots (readbacks between steps, never inside one).
 *
 * URL parameters (all optional): task=add|rmnist, T, K, H (e.g. 32 or 64,64), batch, lr, alpha,
 * seed, auto=1 (start at once), budget (ms per turn), metricsMs, recordMs.
 * For tests the page exposes `window.snnPage` (status, steps, history, frame stats, long tasks).
 */
import {
  Engine,
  FrameLoop,
  GpuUnavailableError,
  TrainingSession,
  imageSetFromIdx,
  maybeGunzipAsync,
  parseIdx,
  type ImageSet,
  type MetricPoint,
  type SessionOptions,
  type StepRecord,
} from '../src/index.js';
import { COLORS, drawBars, drawLineChart, drawMembrane, drawRaster } from './charts.js';
import { DigitPad } from './draw.js';

type Status = 'loading' | 'tuning' | 'no-webgpu' | 'ready' | 'training' | 'paused' | 'error';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);
const num = (k: string, d: number) => {
  const v = params.get(k);
  const n = v === null ? NaN : Number(v);
  return Number.isFinite(n) ? n : d;
};

const ui = {
  task: $<HTMLSelectElement>('task'),
  T: $<HTMLInputElement>('T'),
  K: $<HTMLInputElement>('K'),
  H: $<HTMLInputElement>('H'),
  batch: $<HTMLInputElement>('batch'),
  lr: $<HTMLInputElement>('lr'),
  alpha: $<HTMLInputElement>('alpha'),
  images: $<HTMLInputElement>('images'),
  labels: $<HTMLInputElement>('labels'),
  start: $<HTMLButtonElement>('start'),
  reset: $<HTMLButtonElement>('reset'),
  layer: $<HTMLSelectElement>('layer'),
};

const DEFAULTS = {
  add: { T: 20, H: '32', batch: 16, lr: 0.01, alpha: 0.5 },
  rmnist: { T: 28, H: '128', batch: 32, lr: 0.01, alpha: 0.1 },
} as const;

const budgetMs = num('budget', 12);
const metricsMs = num('metricsMs', 200);
const recordMs = num('recordMs', 1500);

let engine: Engine | null = null;
let session: TrainingSession | null = null;
let loop: FrameLoop | null = null;
let mnist: ImageSet | null = null;
let status: Status = 'loading';
let lastError = '';

// recording of one sequence's states (sample 0) for the raster / membrane plots
let recording: StepRecord[] | null = null;
let needRecord = false;
let lastRecording: StepRecord[] = [];
let lastRecordAt = -Infinity;
let lastMetricsAt = 0;
let startedAt = 0;
let probs: Float32Array | null = null;
const longTasks: number[] = [];
/** What needs redrawing at the next animation frame. */
const dirty = { charts: true, activity: true, probs: true, stats: true };
const markAll = () => {
  dirty.charts = dirty.activity = dirty.probs = dirty.stats = true;
};

function setStatus(s: Status): void {
  status = s;
  document.body.dataset.status = s;
  $('st-status').textContent = s;
  markAll();
}

function showError(msg: string): void {
  lastError = msg;
  const el = $('error');
  el.textContent = msg;
  el.hidden = !msg;
}

// ---- form ----------------------------------------------------------------------------------

function applyTaskDefaults(task: 'add' | 'rmnist', fromUrl: boolean): void {
  const d = DEFAULTS[task];
  ui.T.value = String(fromUrl ? num('T', d.T) : d.T);
  ui.H.value = fromUrl ? (params.get('H') ?? d.H) : d.H;
  ui.batch.value = String(fromUrl ? num('batch', d.batch) : d.batch);
  ui.lr.value = String(fromUrl ? num('lr', d.lr) : d.lr);
  ui.alpha.value = String(fromUrl ? num('alpha', d.alpha) : d.alpha);
  ui.K.value = fromUrl ? (params.get('K') ?? '') : '';
  ui.T.disabled = task === 'rmnist';
  $('mnist-files').hidden = task !== 'rmnist';
  $('draw-panel').classList.toggle('inactive', task !== 'rmnist');
  markAll();
  updateStartEnabled();
}

function readOptions(): SessionOptions {
  const task = ui.task.value as 'add' | 'rmnist';
  const hidden = ui.H.value
    .split(/[,\s]+/)
    .filter(Boolean)
    .map(Number);
  if (hidden.length === 0 || hidden.some((h) => !Number.isInteger(h) || h < 1)) throw new Error(`Hidden sizes must be positive integers, e.g. 32 or 64,64 (got "${ui.H.value}")`);
  const batch = Number(ui.batch.value);
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`Batch must be a positive integer (got "${ui.batch.value}")`);
  const T = task === 'rmnist' ? 28 : Number(ui.T.value);
  if (!Number.isInteger(T) || T < 2) throw new Error(`T must be an integer ≥ 2 (got "${ui.T.value}")`);
  const K = ui.K.value.trim() === '' ? T : Number(ui.K.value);
  if (!Number.isInteger(K) || K < 1 || K > T) throw new Error(`K must be an integer in 1..T (got "${ui.K.value}")`);
  const lr = Number(ui.lr.value);
  const alpha = Number(ui.alpha.value);
  const o: SessionOptions = { task, hidden, batch, K, lr, alpha, seed: num('seed', 0), steps: T };
  if (task === 'rmnist') {
    if (!mnist) throw new Error('R-MNIST: pick an images file and a labels file first');
    if (mnist.n < batch) throw new Error(`R-MNIST: ${mnist.n} images is fewer than one batch of ${batch}`);
    o.images = mnist;
  }
  return o;
}

function updateStartEnabled(): void {
  const ready = engine !== null && (ui.task.value !== 'rmnist' || mnist !== null || session !== null);
  ui.start.disabled = !ready || status === 'no-webgpu';
  ui.reset.disabled = session === null;
  ui.start.textContent = status === 'training' ? 'Pause' : session ? 'Resume' : 'Start';
}

async function readFileBytes(f: File): Promise<Uint8Array> {
  return maybeGunzipAsync(new Uint8Array(await f.arrayBuffer()), f.name);
}

async function loadMnist(): Promise<void> {
  const fi = ui.images.files?.[0];
  const fl = ui.labels.files?.[0];
  const info = $('dataset-info');
  if (!fi || !fl) return;
  info.className = 'hint';
  info.textContent = 'reading…';
  try {
    const [ib, lb] = await Promise.all([readFileBytes(fi), readFileBytes(fl)]);
    const set = imageSetFromIdx(parseIdx(ib, fi.name, 'images'), parseIdx(lb, fl.name, 'labels'), { images: fi.name, labels: fl.name });
    if (set.rows !== 28 || set.cols !== 28) throw new Error(`${fi.name}: images are ${set.rows}×${set.cols}; R-MNIST here expects 28×28`);
    mnist = set;
    info.className = 'hint ok';
    info.textContent = `${set.n.toLocaleString()} images, ${set.rows}×${set.cols}, ${set.classes} classes`;
  } catch (e) {
    mnist = null;
    info.className = 'hint';
    info.textContent = '';
    showError((e as Error).message);
  }
  updateStartEnabled();
  if (params.get('auto') === '1' && mnist && !session) void start();
}

// ---- training --------------------------------------------------------------------------------

async function buildSession(): Promise<TrainingSession> {
  const o = readOptions();
  const s = await TrainingSession.create(engine!, o);
  ui.layer.innerHTML = s.hidden.map((size, i) => `<option value="${i}">layer ${i} (${size})</option>`).join('');
  return s;
}

async function start(): Promise<void> {
  showError('');
  try {
    if (!session) {
      session = await buildSession();
      startedAt = performance.now();
      lastMetricsAt = -Infinity; // the first sequence is a point of its own
      lastRecordAt = -Infinity;
      const s = session;
      loop = new FrameLoop(engine!.device.queue, () => work(s), { budgetMs, inFlight: num('inflight', 2) === 1 ? 1 : 2, afterTurn: () => afterTurn(s), onError: fail });
    }
    loop!.start();
    setStatus('training');
  } catch (e) {
    fail(e);
  }
  updateStartEnabled();
}

let metricsDue = false;

function work(s: TrainingSession): boolean {
  if (!recording && s.chunk === 0 && performance.now() - lastRecordAt >= recordMs) recording = [];
  s.trainChunk();
  // metric windows hold whole sequences (the FPTT loss weights grow over a sequence)
  if (s.chunk === 0 && performance.now() - lastMetricsAt >= metricsMs) metricsDue = true;
  if (recording) needRecord = true;
  return !(needRecord || metricsDue); // end the turn: afterTurn reads back before the next chunk
}

async function afterTurn(s: TrainingSession): Promise<void> {
  if (needRecord && recording) {
    needRecord = false;
    recording.push(...(await s.recordChunk()));
    if (s.chunk === 0) {
      lastRecording = recording;
      recording = null;
      lastRecordAt = performance.now();
      dirty.activity = true;
    }
  }
  if (metricsDue) {
    metricsDue = false;
    lastMetricsAt = performance.now();
    await s.readMetrics();
    dirty.charts = dirty.stats = true;
  }
}

async function pause(): Promise<void> {
  if (!loop) return;
  loop.pause();
  await loop.idle();
  if (session && status === 'training') setStatus('paused');
  updateStartEnabled();
}

async function reset(): Promise<void> {
  await pause();
  session?.destroy();
  session = null;
  loop = null;
  recording = null;
  needRecord = false;
  metricsDue = false;
  lastRecording = [];
  probs = null;
  $('guess').textContent = '?';
  setStatus(engine ? 'ready' : status);
  updateStartEnabled();
}

function fail(e: unknown): void {
  loop?.pause();
  console.error(e);
  showError((e as Error)?.message ?? String(e));
  setStatus('error');
  updateStartEnabled();
}

// ---- draw a digit ------------------------------------------------------------------------------

const pad = new DigitPad($<HTMLCanvasElement>('pad'), $<HTMLCanvasElement>('pad-preview'));

async function classifyDrawing(): Promise<void> {
  const note = $('guess-note');
  if (pad.isEmpty) return;
  if (!session || !session.classification) {
    note.textContent = 'train on R-MNIST first';
    return;
  }
  const wasTraining = status === 'training';
  if (wasTraining) {
    loop!.pause();
    await loop!.idle();
  }
  try {
    probs = await session.classify(pad.toMnist());
    let best = 0;
    for (let c = 1; c < probs.length; c++) if (probs[c]! > probs[best]!) best = c;
    $('guess').textContent = String(best);
    note.textContent = `${(probs[best]! * 100).toFixed(0)}% · after ${session.step.toLocaleString()} steps`;
  } catch (e) {
    fail(e);
  }
  if (wasTraining && status === 'training') loop!.start();
  dirty.probs = true;
}
pad.onStroke = () => void classifyDrawing();
$('clear').addEventListener('click', () => {
  pad.clear();
  probs = null;
  $('guess').textContent = '?';
  $('guess-note').textContent = session?.classification ? 'draw a digit' : 'train on R-MNIST, then draw';
  dirty.probs = true;
});

// ---- rendering ---------------------------------------------------------------------------------

function swatches(items: { label: string; color: string }[]): string {
  return items.map((i) => `<span><span class="swatch" style="background:${i.color}"></span>${i.label}</span>`).join(' ');
}

function rate(h: MetricPoint[]): number {
  if (h.length < 2) return NaN;
  const last = h[h.length - 1]!;
  let i = h.length - 2;
  while (i > 0 && last.time - h[i]!.time < 2000) i--;
  const first = h[i]!;
  return last.time > first.time ? ((last.step - first.step) / (last.time - first.time)) * 1000 : NaN;
}

function lastFinite(h: MetricPoint[], k: 'loss' | 'mse' | 'accuracy'): number {
  for (let i = h.length - 1; i >= 0; i--) if (Number.isFinite(h[i]![k])) return h[i]![k];
  return NaN;
}

function renderCharts(): void {
  const h = session?.history ?? [];
  const xs = h.map((p) => p.step);
  const classification = session ? session.classification : ui.task.value === 'rmnist';
  setText('metric-title', classification ? 'Accuracy at the last step' : 'MSE at the last step');
  setText('st-metric-name', classification ? 'Accuracy' : 'MSE');
  drawLineChart($<HTMLCanvasElement>('c-loss'), [{ label: 'loss', color: COLORS[0]!, xs, ys: h.map((p) => p.loss), smooth: 0.8 }], {
    empty: status === 'no-webgpu' ? 'WebGPU unavailable' : 'press Start to train',
    log: true,
  });
  $('loss-legend').innerHTML = swatches([{ label: 'FPTT loss (mean per window)', color: COLORS[0]! }]);
  if (classification) {
    drawLineChart($<HTMLCanvasElement>('c-metric'), [{ label: 'accuracy', color: COLORS[2]!, xs, ys: h.map((p) => p.accuracy), smooth: 0.8 }], {
      yMin: 0,
      yMax: 1,
      empty: 'no data yet',
      reference: { y: 0.1, label: 'chance' },
    });
    $('metric-legend').innerHTML = swatches([{ label: 'training batch accuracy', color: COLORS[2]! }]);
  } else {
    drawLineChart($<HTMLCanvasElement>('c-metric'), [{ label: 'mse', color: COLORS[1]!, xs, ys: h.map((p) => p.mse), smooth: 0.8 }], {
      empty: 'no data yet',
      reference: { y: 1 / 6, label: 'predict the mean (1/6)' },
    });
    $('metric-legend').innerHTML = swatches([{ label: 'MSE of Σ marked values', color: COLORS[1]! }]);
  }
}

function renderActivity(): void {
  const layer = Number(ui.layer.value || 0);
  const T = session?.T ?? 1;
  const rec = lastRecording;
  const us = rec.map((r) => r.u[layer] ?? new Float32Array());
  const spikes = drawRaster($<HTMLCanvasElement>('c-raster'), rec.map((r) => r.s[layer] ?? new Float32Array()), us, T);
  const H = rec[0]?.u[layer]?.length ?? 0;
  setText('raster-legend', rec.length ? `sample 0 · ${spikes} spikes (${((spikes / (H * rec.length)) * 100).toFixed(0)}%) · shade u` : 'sample 0, one recorded sequence');
  const k = Math.min(5, H);
  const neurons = Array.from({ length: k }, (_, i) => Math.floor((i * H) / k));
  drawMembrane(
    $<HTMLCanvasElement>('c-membrane'),
    us,
    rec.map((r) => r.s[layer]!),
    neurons,
  );
  $('membrane-legend').innerHTML = H ? swatches(neurons.map((n, i) => ({ label: `n${n}`, color: COLORS[i % COLORS.length]! }))) + ' <span>● spike</span>' : '';
}

function setText(id: string, text: string): void {
  const el = $(id);
  if (el.textContent !== text) el.textContent = text;
}

function renderStats(): void {
  const h = session?.history ?? [];
  const classification = session ? session.classification : ui.task.value === 'rmnist';
  setText('st-steps', (session?.step ?? 0).toLocaleString());
  setText('st-seq', (session?.sequences ?? 0).toLocaleString());
  const r = rate(h);
  setText('st-rate', Number.isFinite(r) && status === 'training' ? r.toFixed(0) : '—');
  const loss = lastFinite(h, 'loss');
  setText('st-loss', Number.isFinite(loss) ? loss.toPrecision(3) : '—');
  const m = lastFinite(h, classification ? 'accuracy' : 'mse');
  setText('st-metric', Number.isFinite(m) ? (classification ? `${(m * 100).toFixed(1)}%` : m.toPrecision(3)) : '—');
  const fs = loop?.stats;
  setText('st-frame', fs ? `${fs.maxTurnMs.toFixed(1)} ms max` : '—');
}

let lastChartRender = -Infinity;
function frame(t: number): void {
  // charts at most ~3 times a second while training: a redraw costs more than the new points are worth
  if (dirty.charts && (status !== 'training' || t - lastChartRender > 330)) {
    dirty.charts = false;
    lastChartRender = t;
    renderCharts();
  }
  if (dirty.activity) {
    dirty.activity = false;
    renderActivity();
  }
  if (dirty.probs) {
    dirty.probs = false;
    drawBars($<HTMLCanvasElement>('c-probs'), probs);
  }
  if (dirty.stats) {
    dirty.stats = false;
    renderStats();
  }
  requestAnimationFrame(frame);
}

// ---- start-up ----------------------------------------------------------------------------------

function noWebGpu(reason: string): void {
  $('nogpu').hidden = false;
  $('nogpu-reason').textContent = reason;
  const a = $('adapter');
  a.textContent = 'no WebGPU';
  a.className = 'adapter bad';
  setStatus('no-webgpu');
  updateStartEnabled();
}

async function init(): Promise<void> {
  const task = params.get('task') === 'rmnist' ? 'rmnist' : 'add';
  ui.task.value = task;
  applyTaskDefaults(task, true);
  $('budget').textContent = String(budgetMs);
  ui.task.addEventListener('change', () => {
    applyTaskDefaults(ui.task.value as 'add' | 'rmnist', false);
    $('config-hint').textContent = session ? 'Changes apply after Reset.' : 'K = T is pure online FPTT: one parameter update per time step.';
    markAll();
  });
  for (const el of [ui.T, ui.K, ui.H, ui.batch, ui.lr, ui.alpha]) {
    el.addEventListener('change', () => {
      if (session) $('config-hint').textContent = 'Changes apply after Reset.';
    });
  }
  ui.images.addEventListener('change', () => void loadMnist());
  ui.labels.addEventListener('change', () => void loadMnist());
  ui.start.addEventListener('click', () => void (status === 'training' ? pause() : start()));
  ui.reset.addEventListener('click', () => void reset().then(() => ($('config-hint').textContent = 'K = T is pure online FPTT: one parameter update per time step.')));
  ui.layer.addEventListener('change', () => (dirty.activity = true));
  window.addEventListener('resize', markAll);
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) longTasks.push(e.duration);
    }).observe({ type: 'longtask', buffered: true });
  } catch {
    /* longtask timing not supported */
  }
  requestAnimationFrame(frame);

  const nav = navigator as Navigator & { gpu?: unknown };
  if (!window.isSecureContext) {
    noWebGpu(`This page is not a secure context (${location.origin}), so the browser hides WebGPU.`);
    return;
  }
  if (!nav.gpu) {
    noWebGpu('This browser does not expose navigator.gpu.');
    return;
  }
  try {
    // Kernel tilings: measured once per GPU and kept in localStorage (`?tuning=table` skips it).
    const tuning = params.get('tuning') === 'table' ? 'table' : params.get('tuning') === 'measure' ? 'measure' : 'auto';
    if (tuning !== 'table') setStatus('tuning'); // shown while the first visit measures (≤ 20 s)
    engine = await Engine.create({ tuning });
  } catch (e) {
    if (e instanceof GpuUnavailableError) noWebGpu('navigator.gpu exists, but the browser returned no WebGPU adapter (WebGPU may be disabled or the GPU blocklisted on this system).');
    else fail(e);
    return;
  }
  const a = $('adapter');
  a.textContent = engine.adapterName;
  a.title = `WebGPU adapter: ${engine.adapterName}`;
  a.className = 'adapter ok';
  void engine.device.lost.then((info) => fail(new Error(`GPU device lost (${info.reason}): ${info.message}`)));
  setStatus('ready');
  updateStartEnabled();
  if (params.get('auto') === '1' && task === 'add') void start();
}

declare global {
  interface Window {
    snnPage: unknown;
  }
}
window.snnPage = {
  get status() {
    return status;
  },
  get error() {
    return lastError;
  },
  get adapter() {
    return engine?.adapterName ?? null;
  },
  get steps() {
    return session?.step ?? 0;
  },
  get sequences() {
    return session?.sequences ?? 0;
  },
  get history() {
    return (session?.history ?? []).map((p) => ({ step: p.step, loss: p.loss, mse: p.mse, accuracy: p.accuracy, time: p.time }));
  },
  get frame() {
    return { ...(loop?.stats ?? { turns: 0, units: 0, maxTurnMs: 0, lastTurnMs: 0 }), longTasks: [...longTasks] };
  },
  get recordedSteps() {
    return lastRecording.length;
  },
  get guess() {
    return probs ? Array.from(probs) : null;
  },
  start,
  pause,
  reset,
  /** Draw a stroke on the digit pad (pad pixels, 0..280) and classify when `done`. */
  async stroke(points: [number, number][], done = true) {
    for (let i = 1; i < points.length; i++) pad.line({ x: points[i - 1]![0], y: points[i - 1]![1] }, { x: points[i]![0], y: points[i]![1] });
    pad.updatePreview();
    if (done) await classifyDrawing();
    return probs ? Array.from(probs) : null;
  },
};

void init();
