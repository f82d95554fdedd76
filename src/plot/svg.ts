/**
 * SVG charts written by hand (no dependencies, browser-safe): line charts with linear or log y
 * axes, a spike raster and stacked membrane traces. Every function returns a complete SVG
 * document as a string.
 */

export const PALETTE = ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#db2777', '#0891b2', '#4b5563'];
const FONT = "font-family=\"-apple-system, 'Segoe UI', Helvetica, Arial, sans-serif\"";
const AXIS = '#374151';
const GRID = '#e5e7eb';
const TEXT = '#111827';
const MUTED = '#6b7280';

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

const f = (x: number) => (Math.round(x * 100) / 100).toString();

/** "Nice" ticks covering [lo, hi] (steps of 1, 2 or 5 × 10^k). */
export function niceTicks(lo: number, hi: number, target = 6): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (hi <= lo) {
    const d = Math.abs(lo) > 0 ? Math.abs(lo) * 0.1 : 1;
    lo -= d;
    hi += d;
  }
  const raw = (hi - lo) / Math.max(1, target);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const n = raw / mag;
  const step = (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

/** Ticks of a nice step whose range covers [lo, hi] (extended outward to whole steps). */
export function niceScale(lo: number, hi: number, target = 5): { lo: number; hi: number; step: number; ticks: number[] } {
  if (!(hi > lo)) {
    const d = Math.abs(lo) > 0 ? Math.abs(lo) * 0.1 : 1;
    lo -= d;
    hi += d;
  }
  const raw = (hi - lo) / Math.max(1, target);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const n = raw / mag;
  const step = (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * mag;
  const a = Math.floor(lo / step + 1e-9);
  const b = Math.ceil(hi / step - 1e-9);
  const ticks: number[] = [];
  for (let k = a; k <= b; k++) ticks.push(Math.abs(k * step) < step * 1e-9 ? 0 : +(k * step).toPrecision(12));
  return { lo: a * step, hi: b * step, step, ticks };
}

/** Compact tick label. */
export function tickLabel(v: number, step = 0): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toPrecision(3)}k`;
  if (a < 1e-3) return v.toExponential(0).replace('e-', 'e−');
  const dec = step > 0 ? Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9))) : 3;
  return String(+v.toFixed(dec)).replace('-', '−');
}

interface Frame {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

const plotW = (fr: Frame) => fr.width - fr.left - fr.right;
const plotH = (fr: Frame) => fr.height - fr.top - fr.bottom;

function open(fr: Frame, title: string): string[] {
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${fr.width}" height="${fr.height}" viewBox="0 0 ${fr.width} ${fr.height}" ${FONT} font-size="12">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect x="0" y="0" width="${fr.width}" height="${fr.height}" fill="#ffffff"/>`,
    `<text x="${f(fr.width / 2)}" y="24" text-anchor="middle" font-size="15" font-weight="600" fill="${TEXT}">${escapeXml(title)}</text>`,
  ];
}

export interface Series {
  name: string;
  /** [x, y] points; y null or non-finite breaks the line. */
  points: [number, number | null][];
  color?: string;
  dashed?: boolean;
  /** Draw a dot at each point (sparse series such as evaluations). */
  markers?: boolean;
  width?: number;
  opacity?: number;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  logY?: boolean;
  width?: number;
  height?: number;
  /** Fixed y range (linear axes). */
  yMin?: number;
  yMax?: number;
  /** Start the x axis at 0 (when all x ≥ 0). */
  xFromZero?: boolean;
  /** Horizontal reference lines. */
  refLines?: { y: number; label: string; color?: string }[];
}

/** A line chart of one or more series against a shared x axis. */
export function lineChart(series: readonly Series[], o: LineChartOptions): string {
  const fr: Frame = { width: o.width ?? 760, height: o.height ?? 440, left: 72, right: 24, top: 44, bottom: 56 };
  const W = plotW(fr);
  const H = plotH(fr);
  const logY = !!o.logY;
  const usable = (y: number | null): y is number => y !== null && Number.isFinite(y) && (!logY || y > 0);
  let xMin = Infinity;
  let xMax = -Infinity;
  let yMin = Infinity;
  let yMax = -Infinity;
  for (const s of series) {
    for (const [x, y] of s.points) {
      if (!Number.isFinite(x)) continue;
      xMin = Math.min(xMin, x);
      xMax = Math.max(xMax, x);
      if (usable(y)) {
        yMin = Math.min(yMin, y);
        yMax = Math.max(yMax, y);
      }
    }
  }
  for (const r of o.refLines ?? []) {
    if (usable(r.y)) {
      yMin = Math.min(yMin, r.y);
      yMax = Math.max(yMax, r.y);
    }
  }
  const empty = !Number.isFinite(yMin);
  if (o.xFromZero && xMin > 0) xMin = 0;
  if (!Number.isFinite(xMin)) {
    xMin = 0;
    xMax = 1;
  }
  if (xMax === xMin) {
    xMin -= 0.5;
    xMax += 0.5;
  }
  if (empty) {
    yMin = logY ? 0.1 : 0;
    yMax = 1;
  }
  if (o.yMin !== undefined && !logY) yMin = o.yMin;
  if (o.yMax !== undefined && !logY) yMax = o.yMax;

  // y axis mapping and ticks
  let yTicks: { v: number; label: string; major: boolean }[];
  let yLo: number;
  let yHi: number;
  let ty: (y: number) => number;
  if (logY) {
    let d0 = Math.floor(Math.log10(yMin));
    let d1 = Math.ceil(Math.log10(yMax));
    if (d1 === d0) {
      d0 -= 0;
      d1 += 1;
    }
    yLo = 10 ** d0;
    yHi = 10 ** d1;
    const span = d1 - d0;
    ty = (y) => fr.top + H - ((Math.log10(y) - d0) / span) * H;
    yTicks = [];
    for (let d = d0; d <= d1; d++) {
      yTicks.push({ v: 10 ** d, label: tickLabel(10 ** d), major: true });
      if (d < d1) for (const m of [2, 5]) yTicks.push({ v: m * 10 ** d, label: span <= 2 ? tickLabel(m * 10 ** d) : '', major: false });
    }
  } else {
    const pad = (yMax - yMin) * 0.05 || Math.abs(yMax) * 0.1 || 1;
    const ticks = niceTicks(o.yMin ?? yMin - (yMin >= 0 && yMin - pad < 0 ? yMin : pad), o.yMax ?? yMax + pad, 6);
    yLo = Math.min(ticks[0] ?? yMin, yMin);
    yHi = Math.max(ticks[ticks.length - 1] ?? yMax, yMax);
    const step = ticks.length > 1 ? ticks[1]! - ticks[0]! : 0;
    ty = (y) => fr.top + H - ((y - yLo) / (yHi - yLo || 1)) * H;
    yTicks = ticks.map((v) => ({ v, label: tickLabel(v, step), major: true }));
  }
  const xt = niceTicks(xMin, xMax, 7).filter((v) => v >= xMin - 1e-9 && v <= xMax + 1e-9);
  const xStep = xt.length > 1 ? xt[1]! - xt[0]! : 0;
  const tx = (x: number) => fr.left + ((x - xMin) / (xMax - xMin)) * W;

  const out = open(fr, o.title);
  // grid and ticks
  out.push(`<g stroke="${GRID}" stroke-width="1">`);
  for (const t of yTicks) if (t.v >= yLo - 1e-12 && t.v <= yHi * (1 + 1e-9)) out.push(`<line x1="${fr.left}" x2="${fr.left + W}" y1="${f(ty(t.v))}" y2="${f(ty(t.v))}"${t.major ? '' : ' stroke-dasharray="2 3"'}/>`);
  for (const v of xt) out.push(`<line x1="${f(tx(v))}" x2="${f(tx(v))}" y1="${fr.top}" y2="${fr.top + H}"/>`);
  out.push('</g>');
  out.push(`<g fill="${MUTED}" font-size="11">`);
  for (const t of yTicks) if (t.label && t.v >= yLo - 1e-12 && t.v <= yHi * (1 + 1e-9)) out.push(`<text x="${fr.left - 8}" y="${f(ty(t.v) + 4)}" text-anchor="end">${escapeXml(t.label)}</text>`);
  for (const v of xt) out.push(`<text x="${f(tx(v))}" y="${fr.top + H + 18}" text-anchor="middle">${escapeXml(tickLabel(v, xStep))}</text>`);
  out.push('</g>');
  // axes
  out.push(`<path d="M${fr.left} ${fr.top}V${fr.top + H}H${fr.left + W}" fill="none" stroke="${AXIS}" stroke-width="1.2"/>`);
  out.push(`<text x="${f(fr.left + W / 2)}" y="${fr.height - 14}" text-anchor="middle" fill="${TEXT}">${escapeXml(o.xLabel)}</text>`);
  out.push(`<text transform="translate(18 ${f(fr.top + H / 2)}) rotate(-90)" text-anchor="middle" fill="${TEXT}">${escapeXml(o.yLabel + (logY ? ' (log)' : ''))}</text>`);
  // reference lines
  for (const r of o.refLines ?? []) {
    if (!usable(r.y)) continue;
    const y = f(ty(r.y));
    out.push(`<line x1="${fr.left}" x2="${fr.left + W}" y1="${y}" y2="${y}" stroke="${r.color ?? MUTED}" stroke-width="1" stroke-dasharray="6 4"/>`);
    out.push(`<text x="${fr.left + W - 4}" y="${f(ty(r.y) - 5)}" text-anchor="end" font-size="11" fill="${r.color ?? MUTED}">${escapeXml(r.label)}</text>`);
  }
  // series
  out.push(`<defs><clipPath id="plot"><rect x="${fr.left}" y="${fr.top - 4}" width="${W + 4}" height="${H + 8}"/></clipPath></defs>`);
  out.push('<g clip-path="url(#plot)">');
  series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length]!;
    let d = '';
    let pen = false;
    for (const [x, y] of s.points) {
      if (!usable(y) || !Number.isFinite(x)) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${f(tx(x))} ${f(ty(y))}`;
      pen = true;
    }
    if (d) {
      out.push(
        `<path d="${d}" fill="none" stroke="${color}" stroke-width="${s.width ?? 1.6}" stroke-linejoin="round" stroke-linecap="round"${s.dashed ? ' stroke-dasharray="6 4"' : ''}${s.opacity !== undefined ? ` stroke-opacity="${s.opacity}"` : ''}/>`,
      );
    }
    if (s.markers) {
      out.push(`<g fill="${color}" stroke="#ffffff" stroke-width="1">`);
      for (const [x, y] of s.points) if (usable(y) && Number.isFinite(x)) out.push(`<circle cx="${f(tx(x))}" cy="${f(ty(y))}" r="3.2"/>`);
      out.push('</g>');
    }
  });
  out.push('</g>');
  if (empty) out.push(`<text x="${f(fr.left + W / 2)}" y="${f(fr.top + H / 2)}" text-anchor="middle" fill="${MUTED}">no data</text>`);
  // legend (top right, inside the plot)
  const shown = series.filter((s) => s.points.some(([, y]) => usable(y)));
  if (shown.length) {
    const lw = Math.max(...shown.map((s) => s.name.length)) * 6.6 + 44;
    const lh = shown.length * 18 + 10;
    const lx = fr.left + W - lw - 8;
    const ly = fr.top + 8;
    out.push(`<g><rect x="${f(lx)}" y="${ly}" width="${f(lw)}" height="${lh}" rx="4" fill="#ffffff" fill-opacity="0.9" stroke="${GRID}"/>`);
    shown.forEach((s) => {
      const i = series.indexOf(s);
      const color = s.color ?? PALETTE[i % PALETTE.length]!;
      const y = ly + 14 + shown.indexOf(s) * 18;
      out.push(`<line x1="${f(lx + 10)}" x2="${f(lx + 30)}" y1="${y}" y2="${y}" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`);
      if (s.markers) out.push(`<circle cx="${f(lx + 20)}" cy="${y}" r="3.2" fill="${color}"/>`);
      out.push(`<text x="${f(lx + 36)}" y="${y + 4}" fill="${TEXT}">${escapeXml(s.name)}</text>`);
    });
    out.push('</g>');
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}

export interface RasterLayer {
  name: string;
  /** Spikes: spikes[t][h] (any truthy value is a spike). */
  spikes: ArrayLike<number>[];
  size: number;
}

/** A spike raster: one row per neuron (layers stacked, each in its color), one column per step. */
export function rasterChart(layers: readonly RasterLayer[], o: { title: string; steps: number; width?: number; height?: number }): string {
  const totalN = layers.reduce((a, l) => a + l.size, 0);
  const height = o.height ?? Math.min(900, Math.max(360, 90 + totalN * 2.2));
  const fr: Frame = { width: o.width ?? 860, height, left: 104, right: 150, top: 44, bottom: 52 };
  const W = plotW(fr);
  const H = plotH(fr);
  const T = Math.max(1, o.steps);
  const cw = W / T;
  const rh = H / Math.max(1, totalN);
  const dotW = Math.max(1.2, Math.min(cw * 0.8, 6));
  const dotH = Math.max(1.2, Math.min(rh * 0.8, 6));
  const out = open(fr, o.title);
  out.push(`<rect x="${fr.left}" y="${fr.top}" width="${W}" height="${H}" fill="#fafafa" stroke="${GRID}"/>`);
  let row = 0;
  const counts: number[] = [];
  layers.forEach((l, li) => {
    const color = PALETTE[li % PALETTE.length]!;
    const y0 = fr.top + row * rh;
    if (li > 0) out.push(`<line x1="${fr.left}" x2="${fr.left + W}" y1="${f(y0)}" y2="${f(y0)}" stroke="${AXIS}" stroke-width="0.8" stroke-dasharray="4 3"/>`);
    out.push(`<text x="${fr.left - 30}" y="${f(y0 + (l.size * rh) / 2 + 4)}" text-anchor="end" fill="${color}" font-weight="600">${escapeXml(l.name)}</text>`);
    out.push(`<g fill="${MUTED}" font-size="10" text-anchor="end"><text x="${fr.left - 6}" y="${f(y0 + rh / 2 + 3.5)}">0</text>${l.size > 1 && li === layers.length - 1 ? `<text x="${fr.left - 6}" y="${f(y0 + (l.size - 0.5) * rh + 3.5)}">${l.size - 1}</text>` : ''}</g>`);
    out.push(`<g fill="${color}">`);
    let n = 0;
    for (let t = 0; t < l.spikes.length && t < T; t++) {
      const s = l.spikes[t]!;
      for (let h = 0; h < l.size; h++) {
        if (!s[h]) continue;
        n++;
        out.push(`<rect x="${f(fr.left + t * cw + (cw - dotW) / 2)}" y="${f(y0 + h * rh + (rh - dotH) / 2)}" width="${f(dotW)}" height="${f(dotH)}"/>`);
      }
    }
    out.push('</g>');
    counts.push(n);
    row += l.size;
  });
  if (counts.every((c) => c === 0)) {
    out.push(`<text x="${f(fr.left + W / 2)}" y="${f(fr.top + H / 2)}" text-anchor="middle" fill="${MUTED}">no spikes in this sample</text>`);
  }
  // x axis
  const xt = niceTicks(0, T - 1, 8).filter((v) => v >= 0 && v <= T - 1 && Number.isInteger(v));
  out.push(`<g fill="${MUTED}" font-size="11">`);
  for (const v of xt) out.push(`<text x="${f(fr.left + (v + 0.5) * cw)}" y="${fr.top + H + 18}" text-anchor="middle">${v}</text>`);
  out.push('</g>');
  out.push(`<g stroke="${AXIS}">`);
  for (const v of xt) out.push(`<line x1="${f(fr.left + (v + 0.5) * cw)}" x2="${f(fr.left + (v + 0.5) * cw)}" y1="${fr.top + H}" y2="${fr.top + H + 5}"/>`);
  out.push('</g>');
  out.push(`<text x="${f(fr.left + W / 2)}" y="${fr.height - 12}" text-anchor="middle" fill="${TEXT}">time step</text>`);
  out.push(`<text transform="translate(16 ${f(fr.top + H / 2)}) rotate(-90)" text-anchor="middle" fill="${TEXT}">neuron</text>`);
  // legend: spikes per layer and rate
  layers.forEach((l, li) => {
    const color = PALETTE[li % PALETTE.length]!;
    const y = fr.top + 12 + li * 34;
    const rate = l.size > 0 ? counts[li]! / (l.size * T) : 0;
    out.push(`<rect x="${fr.left + W + 14}" y="${y - 8}" width="10" height="10" fill="${color}"/>`);
    out.push(`<text x="${fr.left + W + 30}" y="${y + 1}" fill="${TEXT}">${escapeXml(l.name)} (${l.size})</text>`);
    out.push(`<text x="${fr.left + W + 30}" y="${y + 16}" fill="${MUTED}" font-size="11">${counts[li]} spikes, ${(100 * rate).toFixed(2)}%</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

export interface MembraneTrace {
  name: string;
  /** Membrane potential before the reset (u'), per step. */
  u: ArrayLike<number>;
  /** Threshold per step. */
  theta: ArrayLike<number>;
  /** Spike per step. */
  spikes: ArrayLike<number>;
}

/** Stacked panels, one per neuron: u' (solid), the threshold θ (dashed) and spike ticks. */
export function membraneChart(traces: readonly MembraneTrace[], o: { title: string; width?: number }): string {
  const panelH = 120;
  const gap = 18;
  const fr: Frame = { width: o.width ?? 860, height: 64 + 44 + traces.length * (panelH + gap), left: 84, right: 24, top: 64, bottom: 44 };
  const W = plotW(fr);
  const T = Math.max(1, ...traces.map((t) => t.u.length));
  const tx = (t: number) => fr.left + (T > 1 ? (t / (T - 1)) * W : W / 2);
  const out = open(fr, o.title);
  traces.forEach((tr, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    const top = fr.top + i * (panelH + gap);
    let lo = Infinity;
    let hi = -Infinity;
    for (let t = 0; t < tr.u.length; t++) {
      for (const v of [tr.u[t]!, tr.theta[t]!]) {
        if (Number.isFinite(v)) {
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
        }
      }
    }
    if (!Number.isFinite(lo)) {
      lo = 0;
      hi = 1;
    }
    const sc = niceScale(Math.min(lo, 0), hi, 3);
    const ticks = sc.ticks;
    const y0 = sc.lo;
    const y1 = sc.hi;
    const ty = (v: number) => top + panelH - ((v - y0) / (y1 - y0 || 1)) * panelH;
    const step = sc.step;
    out.push(`<rect x="${fr.left}" y="${top}" width="${W}" height="${panelH}" fill="#fafafa" stroke="${GRID}"/>`);
    out.push(`<g stroke="${GRID}">`);
    for (const v of ticks) out.push(`<line x1="${fr.left}" x2="${fr.left + W}" y1="${f(ty(v))}" y2="${f(ty(v))}"/>`);
    out.push('</g>');
    out.push(`<g fill="${MUTED}" font-size="10">`);
    for (const v of ticks) out.push(`<text x="${fr.left - 6}" y="${f(ty(v) + 3)}" text-anchor="end">${escapeXml(tickLabel(v, step))}</text>`);
    out.push('</g>');
    out.push(`<text x="${fr.left - 44}" y="${f(top + panelH / 2 + 4)}" text-anchor="end" fill="${color}" font-weight="600">${escapeXml(tr.name)}</text>`);
    // spike ticks
    out.push(`<g stroke="${color}" stroke-opacity="0.35" stroke-width="1">`);
    for (let t = 0; t < tr.spikes.length; t++) if (tr.spikes[t]) out.push(`<line x1="${f(tx(t))}" x2="${f(tx(t))}" y1="${top}" y2="${top + panelH}"/>`);
    out.push('</g>');
    const path = (a: ArrayLike<number>) => {
      let d = '';
      for (let t = 0; t < a.length; t++) if (Number.isFinite(a[t]!)) d += `${d ? 'L' : 'M'}${f(tx(t))} ${f(ty(a[t]!))}`;
      return d;
    };
    out.push(`<defs><clipPath id="panel${i}"><rect x="${fr.left}" y="${top - 2}" width="${W}" height="${panelH + 4}"/></clipPath></defs>`);
    out.push(`<g clip-path="url(#panel${i})">`);
    out.push(`<path d="${path(tr.theta)}" fill="none" stroke="${AXIS}" stroke-width="1.2" stroke-dasharray="5 4"/>`);
    out.push(`<path d="${path(tr.u)}" fill="none" stroke="${color}" stroke-width="1.6" stroke-linejoin="round"/>`);
    out.push('</g>');
  });
  const bottom = fr.top + traces.length * (panelH + gap) - gap;
  const xt = niceTicks(0, T - 1, 8).filter((v) => v >= 0 && v <= T - 1 && Number.isInteger(v));
  out.push(`<g fill="${MUTED}" font-size="11">`);
  for (const v of xt) out.push(`<text x="${f(tx(v))}" y="${bottom + 16}" text-anchor="middle">${v}</text>`);
  out.push('</g>');
  out.push(`<text x="${f(fr.left + W / 2)}" y="${bottom + 34}" text-anchor="middle" fill="${TEXT}">time step</text>`);
  // legend
  out.push(
    `<g font-size="11" fill="${MUTED}"><line x1="${fr.left + W - 330}" x2="${fr.left + W - 308}" y1="46" y2="46" stroke="${AXIS}" stroke-dasharray="5 4"/><text x="${fr.left + W - 302}" y="50">threshold θ</text>` +
      `<line x1="${fr.left + W - 220}" x2="${fr.left + W - 198}" y1="46" y2="46" stroke="${PALETTE[0]}" stroke-width="1.6"/><text x="${fr.left + W - 192}" y="50">u′ (before the reset)</text>` +
      `<line x1="${fr.left + W - 70}" x2="${fr.left + W - 70}" y1="39" y2="53" stroke="${PALETTE[0]}" stroke-opacity="0.35"/><text x="${fr.left + W - 62}" y="50">spike</text></g>`,
  );
  out.push('</svg>');
  return out.join('\n') + '\n';
}
