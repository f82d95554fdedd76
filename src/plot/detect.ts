/**
 * SVG pictures of a detector (browser-safe, no dependencies): sample test images with their true
 * boxes (green, dashed) and predicted boxes (coloured by class, with class and score), and the
 * per-class AP as bars. Images are drawn as grey runs: each row's pixels quantised to 16 levels,
 * one rectangle per run of equal level.
 */
import { PALETTE, escapeXml } from './svg.js';

export interface BoxExample {
  image: ArrayLike<number>;
  /** [C, H, W]; the first channel is drawn. */
  shape: readonly [number, number, number];
  truth: readonly { x0: number; y0: number; x1: number; y1: number; cls: number; difficult?: boolean }[];
  detections: readonly { x0: number; y0: number; x1: number; y1: number; cls: number; score: number }[];
}

const FONT = "font-family=\"-apple-system, 'Segoe UI', Helvetica, Arial, sans-serif\"";
const f1 = (x: number) => (Math.round(x * 10) / 10).toString();

function imageRuns(img: ArrayLike<number>, H: number, W: number, scale: number, x0: number, y0: number): string {
  const parts: string[] = [];
  for (let r = 0; r < H; r++) {
    let c = 0;
    while (c < W) {
      const q = Math.max(0, Math.min(15, Math.round(15 * (img[r * W + c] ?? 0))));
      let e = c + 1;
      while (e < W && Math.max(0, Math.min(15, Math.round(15 * (img[r * W + e] ?? 0)))) === q) e++;
      if (q > 0) {
        const g = Math.round((255 * q) / 15);
        parts.push(`<rect x="${f1(x0 + c * scale)}" y="${f1(y0 + r * scale)}" width="${f1((e - c) * scale)}" height="${f1(scale)}" fill="rgb(${g},${g},${g})"/>`);
      }
      c = e;
    }
  }
  return parts.join('');
}

/**
 * A grid of examples: detections with score ≥ minScore (default 0.3) drawn, at most maxBoxes per
 * image (default 10); class names default to the class index.
 */
export function boxesChart(examples: readonly BoxExample[], o: { title: string; classNames?: readonly string[]; minScore?: number; maxBoxes?: number; cell?: number; columns?: number }): string {
  const cell = o.cell ?? 192;
  const cols = Math.max(1, Math.min(o.columns ?? 4, examples.length));
  const rows = Math.ceil(examples.length / cols);
  const pad = 12;
  const top = 40;
  const W = pad + cols * (cell + pad);
  const H = top + rows * (cell + pad + 16) + 24;
  const minScore = o.minScore ?? 0.3;
  const name = (c: number) => o.classNames?.[c] ?? String(c);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ${FONT}>`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${pad}" y="24" font-size="16" fill="#111827">${escapeXml(o.title)}</text>`,
  ];
  examples.forEach((ex, i) => {
    const [, h, w] = ex.shape;
    const scale = cell / Math.max(h, w);
    const x = pad + (i % cols) * (cell + pad);
    const y = top + Math.floor(i / cols) * (cell + pad + 16);
    out.push(`<rect x="${x}" y="${y}" width="${f1(w * scale)}" height="${f1(h * scale)}" fill="#000000"/>`);
    out.push(imageRuns(ex.image, h, w, scale, x, y));
    for (const g of ex.truth) {
      out.push(
        `<rect x="${f1(x + g.x0 * scale)}" y="${f1(y + g.y0 * scale)}" width="${f1((g.x1 - g.x0) * scale)}" height="${f1((g.y1 - g.y0) * scale)}" fill="none" stroke="#22c55e" stroke-width="1.5" stroke-dasharray="4 3"/>`,
      );
    }
    const shown = ex.detections.filter((d) => d.score >= minScore).slice(0, o.maxBoxes ?? 10);
    for (const d of shown) {
      const col = PALETTE[d.cls % PALETTE.length]!;
      const bx = x + d.x0 * scale;
      const by = y + d.y0 * scale;
      out.push(`<rect x="${f1(bx)}" y="${f1(by)}" width="${f1((d.x1 - d.x0) * scale)}" height="${f1((d.y1 - d.y0) * scale)}" fill="none" stroke="${col}" stroke-width="2"/>`);
      out.push(`<text x="${f1(bx + 2)}" y="${f1(Math.max(y + 11, by - 2))}" font-size="11" fill="${col}" stroke="#000" stroke-width="0.3">${escapeXml(`${name(d.cls)} ${d.score.toFixed(2)}`)}</text>`);
    }
    const truthText = ex.truth.map((g) => name(g.cls)).join(' ');
    out.push(`<text x="${x}" y="${f1(y + cell + 13)}" font-size="11" fill="#374151">${escapeXml(`true: ${truthText}; shown: ${shown.length} with score ≥ ${minScore}`)}</text>`);
  });
  out.push(`<text x="${pad}" y="${H - 8}" font-size="11" fill="#6b7280">dashed green: true boxes; solid: predicted boxes (class, score = σ(obj)·p(class)) after class-wise NMS</text>`);
  out.push('</svg>');
  return out.join('\n');
}

/** Per-class AP (0..1, null: no positives) as bars, with the mean as a line. */
export function apChart(ap: readonly (number | null)[], o: { title: string; classNames?: readonly string[] }): string {
  const n = ap.length;
  const bw = 36;
  const left = 48;
  const top = 40;
  const ph = 220;
  const W = left + n * (bw + 8) + 24;
  const H = top + ph + 48;
  const y = (v: number) => top + ph * (1 - v);
  const valid = ap.filter((a): a is number => a !== null);
  const mean = valid.length ? valid.reduce((s, a) => s + a, 0) / valid.length : 0;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ${FONT}>`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="12" y="24" font-size="16" fill="#111827">${escapeXml(o.title)}</text>`,
  ];
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    out.push(`<line x1="${left}" x2="${W - 16}" y1="${f1(y(t))}" y2="${f1(y(t))}" stroke="#e5e7eb"/>`);
    out.push(`<text x="${left - 6}" y="${f1(y(t) + 4)}" font-size="11" text-anchor="end" fill="#374151">${t.toFixed(2)}</text>`);
  }
  ap.forEach((a, c) => {
    const x = left + 8 + c * (bw + 8);
    if (a !== null) out.push(`<rect x="${x}" y="${f1(y(a))}" width="${bw}" height="${f1(ph * a)}" fill="${PALETTE[c % PALETTE.length]}"/>`);
    out.push(`<text x="${x + bw / 2}" y="${f1(y(a ?? 0) - 4)}" font-size="10" text-anchor="middle" fill="#111827">${a === null ? 'n/a' : a.toFixed(2)}</text>`);
    out.push(`<text x="${x + bw / 2}" y="${top + ph + 16}" font-size="11" text-anchor="middle" fill="#374151">${escapeXml(o.classNames?.[c] ?? String(c))}</text>`);
  });
  out.push(`<line x1="${left}" x2="${W - 16}" y1="${f1(y(mean))}" y2="${f1(y(mean))}" stroke="#111827" stroke-dasharray="5 3"/>`);
  out.push(`<text x="${W - 16}" y="${f1(y(mean) - 4)}" font-size="11" text-anchor="end" fill="#111827">mean ${mean.toFixed(3)}</text>`);
  out.push(`<text x="${left}" y="${H - 8}" font-size="11" fill="#6b7280">AP per class (VOC all-point interpolation); dashed: the mean (mAP)</text>`);
  out.push('</svg>');
  return out.join('\n');
}
