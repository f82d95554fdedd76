/**
 * Canvas drawing for the page: line charts (metric curves), the spike raster and membrane traces.
 * Plain 2D canvas, sized to the element's CSS box × devicePixelRatio on every draw.
 */

export const COLORS = ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#db2777', '#0891b2', '#65a30d'];
const AXIS = '#94a3b8';
const GRID = '#e2e8f0';
const TEXT = '#475569';
const FONT = '11px system-ui, -apple-system, "Segoe UI", sans-serif';

/** Resize the backing store to the CSS size; returns the 2D context in CSS pixels and the size. */
function prepare(canvas: HTMLCanvasElement): { g: CanvasRenderingContext2D; w: number; h: number } {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(1, canvas.clientWidth);
  const h = Math.max(1, canvas.clientHeight);
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const g = canvas.getContext('2d', { willReadFrequently: true })!;
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  g.font = FONT;
  return { g, w, h };
}

function niceTicks(lo: number, hi: number, n = 4): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

function fmt(v: number): string {
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 10000) return `${(v / 1000).toFixed(0)}k`;
  if (a >= 1000) return `${(v / 1000).toFixed(1)}k`;
  if (a >= 1) return v.toFixed(a >= 100 ? 0 : 1).replace(/\.0$/, '');
  if (a >= 0.01) return v.toFixed(2);
  return v.toExponential(0);
}

export interface Series {
  label: string;
  color: string;
  xs: number[];
  ys: number[];
  /** Draw a smoothed line (EMA) over faint raw points. */
  smooth?: number;
  dashed?: boolean;
}

export interface ChartOptions {
  yMin?: number;
  yMax?: number;
  /** Shown when there is no data yet. */
  empty?: string;
  /** Horizontal reference line (e.g. chance level). */
  reference?: { y: number; label: string };
  log?: boolean;
}

function ema(ys: number[], a: number): number[] {
  const out: number[] = [];
  let m = NaN;
  for (const y of ys) {
    if (!Number.isFinite(y)) {
      out.push(m);
      continue;
    }
    m = Number.isFinite(m) ? a * m + (1 - a) * y : y;
    out.push(m);
  }
  return out;
}

/** Draws the chart; returns the data → CSS pixel mapping (null when there was nothing to draw). */
export function drawLineChart(canvas: HTMLCanvasElement, series: Series[], opts: ChartOptions = {}): { X(x: number): number; Y(y: number): number } | null {
  const { g, w, h } = prepare(canvas);
  const pad = { l: 42, r: 10, t: 10, b: 22 };
  const pw = w - pad.l - pad.r;
  const ph = h - pad.t - pad.b;
  const finite = series.flatMap((s) => s.xs.map((x, i) => [x, s.ys[i]!] as const)).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!opts.log || y > 0));
  if (finite.length === 0) {
    g.fillStyle = TEXT;
    g.textAlign = 'center';
    g.fillText(opts.empty ?? 'no data yet', w / 2, h / 2);
    return null;
  }
  const tf = (y: number) => (opts.log ? Math.log10(y) : y);
  let x0 = Math.min(...finite.map((p) => p[0]));
  let x1 = Math.max(...finite.map((p) => p[0]));
  if (x1 <= x0) x1 = x0 + 1;
  let y0 = opts.yMin ?? Math.min(...finite.map((p) => tf(p[1])));
  let y1 = opts.yMax ?? Math.max(...finite.map((p) => tf(p[1])));
  if (opts.reference && !opts.log) {
    y0 = Math.min(y0, opts.reference.y);
    y1 = Math.max(y1, opts.reference.y);
  }
  if (y1 <= y0) {
    y1 = y0 + (Math.abs(y0) || 1) * 0.1;
    y0 = y0 - (Math.abs(y0) || 1) * 0.1;
  }
  if (opts.yMin === undefined && opts.yMax === undefined) {
    const m = (y1 - y0) * 0.06;
    y0 -= m;
    y1 += m;
  }
  x0 = Math.min(x0, 0);
  const X = (x: number) => pad.l + ((x - x0) / (x1 - x0)) * pw;
  const Y = (y: number) => pad.t + (1 - (tf(y) - y0) / (y1 - y0)) * ph;

  // grid and ticks
  g.strokeStyle = GRID;
  g.lineWidth = 1;
  g.fillStyle = TEXT;
  g.textAlign = 'right';
  g.textBaseline = 'middle';
  for (const v of niceTicks(y0, y1)) {
    const yy = pad.t + (1 - (v - y0) / (y1 - y0)) * ph;
    g.beginPath();
    g.moveTo(pad.l, Math.round(yy) + 0.5);
    g.lineTo(w - pad.r, Math.round(yy) + 0.5);
    g.stroke();
    g.fillText(opts.log ? fmt(10 ** v) : fmt(v), pad.l - 6, yy);
  }
  g.textAlign = 'center';
  g.textBaseline = 'top';
  for (const v of niceTicks(x0, x1, 5)) g.fillText(fmt(v), X(v), h - pad.b + 6);
  g.strokeStyle = AXIS;
  g.beginPath();
  g.moveTo(pad.l + 0.5, pad.t);
  g.lineTo(pad.l + 0.5, pad.t + ph + 0.5);
  g.lineTo(w - pad.r, pad.t + ph + 0.5);
  g.stroke();

  if (opts.reference) {
    const yy = Y(opts.reference.y);
    g.save();
    g.setLineDash([4, 4]);
    g.strokeStyle = AXIS;
    g.beginPath();
    g.moveTo(pad.l, yy);
    g.lineTo(w - pad.r, yy);
    g.stroke();
    g.restore();
    g.fillStyle = AXIS;
    g.textAlign = 'right';
    g.textBaseline = 'bottom';
    g.fillText(opts.reference.label, w - pad.r - 2, yy - 2);
  }

  g.save();
  g.beginPath();
  g.rect(pad.l, pad.t - 2, pw + 2, ph + 4);
  g.clip();
  for (const s of series) {
    const line = (ys: number[], width: number, alpha: number) => {
      g.globalAlpha = alpha;
      g.strokeStyle = s.color;
      g.lineWidth = width;
      g.setLineDash(s.dashed ? [5, 4] : []);
      g.beginPath();
      let pen = false;
      s.xs.forEach((x, i) => {
        const y = ys[i]!;
        if (!Number.isFinite(y) || (opts.log && y <= 0)) {
          pen = false;
          return;
        }
        if (pen) g.lineTo(X(x), Y(y));
        else g.moveTo(X(x), Y(y));
        pen = true;
      });
      g.stroke();
    };
    if (s.smooth) {
      line(s.ys, 1, 0.25);
      line(ema(s.ys, s.smooth), 2, 1);
    } else line(s.ys, 2, 1);
  }
  g.restore();
  g.globalAlpha = 1;
  g.setLineDash([]);
  return { X, Y };
}

/**
 * Spike raster over a membrane heat map: one row per neuron, one column per step; the cell is
 * shaded by u (blue above 0, orange below, scaled by the largest |u|) and a dark mark is a spike.
 * Returns the spike count.
 */
export function drawRaster(canvas: HTMLCanvasElement, spikes: Float32Array[], us: Float32Array[], T: number, opts: { empty?: string } = {}): number {
  const { g, w, h } = prepare(canvas);
  const pad = { l: 42, r: 10, t: 8, b: 22 };
  const pw = w - pad.l - pad.r;
  const ph = h - pad.t - pad.b;
  if (spikes.length === 0) {
    g.fillStyle = TEXT;
    g.textAlign = 'center';
    g.fillText(opts.empty ?? 'waiting for a recorded sequence', w / 2, h / 2);
    return 0;
  }
  const H = spikes[0]!.length;
  const cw = pw / T;
  const rh = ph / H;
  g.fillStyle = '#f8fafc';
  g.fillRect(pad.l, pad.t, pw, ph);
  let umax = 1e-6;
  for (const u of us) for (let n = 0; n < u.length; n++) umax = Math.max(umax, Math.abs(u[n]!));
  us.forEach((u, t) => {
    for (let n = 0; n < H; n++) {
      const v = u[n]! / umax;
      if (Math.abs(v) < 0.02) continue;
      g.fillStyle = v > 0 ? `rgba(37, 99, 235, ${(0.45 * v).toFixed(3)})` : `rgba(234, 88, 12, ${(-0.35 * v).toFixed(3)})`;
      g.fillRect(pad.l + t * cw, pad.t + n * rh, Math.ceil(cw), Math.ceil(rh));
    }
  });
  g.fillStyle = '#0f172a';
  const dotW = Math.max(1.5, Math.min(cw * 0.6, 6));
  const dotH = Math.max(1, Math.min(rh * 0.7, 6));
  let total = 0;
  spikes.forEach((col, t) => {
    for (let n = 0; n < H; n++) {
      if (col[n]! > 0.5) {
        total++;
        g.fillRect(pad.l + (t + 0.5) * cw - dotW / 2, pad.t + (n + 0.5) * rh - dotH / 2, dotW, dotH);
      }
    }
  });
  g.strokeStyle = AXIS;
  g.strokeRect(pad.l + 0.5, pad.t + 0.5, pw, ph);
  g.fillStyle = TEXT;
  g.textAlign = 'right';
  g.textBaseline = 'middle';
  g.fillText('0', pad.l - 6, pad.t + Math.min(rh / 2, 6));
  g.fillText(String(H - 1), pad.l - 6, pad.t + ph - Math.min(rh / 2, 6));
  g.save();
  g.translate(14, pad.t + ph / 2);
  g.rotate(-Math.PI / 2);
  g.textAlign = 'center';
  g.fillText('neuron', 0, 0);
  g.restore();
  g.textAlign = 'center';
  g.textBaseline = 'top';
  for (const v of niceTicks(0, T - 1, 5)) g.fillText(String(v), pad.l + (v + 0.5) * cw, h - pad.b + 6);
  return total;
}

/** Membrane potential u of a few neurons over the recorded steps; a dot where the neuron spiked. */
export function drawMembrane(canvas: HTMLCanvasElement, us: Float32Array[], ss: Float32Array[], neurons: number[], opts: { empty?: string } = {}): void {
  if (us.length === 0) {
    const { g, w, h } = prepare(canvas);
    g.fillStyle = TEXT;
    g.textAlign = 'center';
    g.fillText(opts.empty ?? 'waiting for a recorded sequence', w / 2, h / 2);
    return;
  }
  const xs = us.map((_, t) => t);
  const series: Series[] = neurons.map((n, k) => ({ label: `n${n}`, color: COLORS[k % COLORS.length]!, xs, ys: us.map((u) => u[n]!) }));
  const frame = drawLineChart(canvas, series, {});
  if (!frame) return;
  const g = canvas.getContext('2d', { willReadFrequently: true })!;
  neurons.forEach((n, k) => {
    g.fillStyle = COLORS[k % COLORS.length]!;
    g.strokeStyle = '#fff';
    g.lineWidth = 1.5;
    ss.forEach((s, t) => {
      if (s[n]! > 0.5) {
        g.beginPath();
        g.arc(frame.X(t), frame.Y(us[t]![n]!), 3.5, 0, 2 * Math.PI);
        g.fill();
        g.stroke();
      }
    });
  });
}

/** Horizontal bars of class probabilities. */
export function drawBars(canvas: HTMLCanvasElement, probs: ArrayLike<number> | null): void {
  const { g, w, h } = prepare(canvas);
  const C = probs ? probs.length : 10;
  const rowH = h / C;
  let best = -1;
  if (probs) for (let c = 0; c < C; c++) if (best < 0 || probs[c]! > probs[best]!) best = c;
  for (let c = 0; c < C; c++) {
    const y = c * rowH;
    g.fillStyle = TEXT;
    g.textAlign = 'right';
    g.textBaseline = 'middle';
    g.fillText(String(c), 14, y + rowH / 2);
    g.fillStyle = '#f1f5f9';
    g.fillRect(20, y + 2, w - 60, rowH - 4);
    if (probs) {
      const p = probs[c]!;
      g.fillStyle = c === best ? '#2563eb' : '#93c5fd';
      g.fillRect(20, y + 2, (w - 60) * p, rowH - 4);
      g.fillStyle = TEXT;
      g.textAlign = 'left';
      g.fillText(`${(p * 100).toFixed(0)}%`, w - 36, y + rowH / 2);
    }
  }
}
