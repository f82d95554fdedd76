/**
 * Progress output of `webgpu-snn train`: on a TTY one updating line (bar, epoch, step, loss,
 * accuracy / MSE, it/s, ETA) with evaluation results printed above it; otherwise one plain line
 * per metrics record.
 */
import type { MetricRecord, Progress } from '../train/loop.js';

export interface OutStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export function formatDuration(sec: number): string {
  if (!Number.isFinite(sec) || sec < 0) return '--';
  const s = Math.round(sec);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  return `${h}h${String(m % 60).padStart(2, '0')}m`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

const num = (x: number | null | undefined, digits = 4): string => (x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : x < 1e-3 && x > 0 ? x.toExponential(2) : x.toFixed(digits));
const pct = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : `${(100 * x).toFixed(1)}%`);

/** "loss 0.1234  acc 91.2%" or "loss 0.0123  mse 0.0101". */
export function metricText(r: MetricRecord): string {
  const parts = [`loss ${num(r.loss)}`];
  if (r.accuracy !== undefined) parts.push(`acc ${pct(r.accuracy)}`);
  if (r.mse !== undefined) parts.push(`mse ${num(r.mse)}`);
  if (r.map50 !== undefined) parts.push(`mAP@0.5 ${pct(r.map50)}  mAP@[.5:.95] ${pct(r.map)}`);
  if (r.mseMean !== undefined) parts.push(`mse(W̄) ${num(r.mseMean)}`);
  else if (r.lossMean !== undefined) parts.push(`loss(W̄) ${num(r.lossMean)}`);
  return parts.join('  ');
}

/** A plain line for a record (non-TTY output, and eval lines on a TTY). */
export function recordLine(r: MetricRecord, total: number, epochs: number | null): string {
  const ep = r.epoch > 0 ? `epoch ${r.epoch}${epochs ? `/${epochs}` : ''}  ` : '';
  const step = `step ${r.step}/${total}`;
  if (r.kind === 'train') {
    const gn = r.gradNorm !== undefined ? `  |g| ${num(r.gradNorm, 3)}` : '';
    return `train  ${ep}${step}  ${metricText(r)}${gn}  ${(r.stepsPerSec ?? 0).toFixed(2)} it/s  ${formatDuration(r.time)}`;
  }
  const w = r.weights === 'mean' ? 'W̄' : 'W';
  return `eval   ${ep}${step}  ${metricText(r)}  (${r.samples ?? 0} samples, ${w})`;
}

export class ProgressPrinter {
  private lastDraw = 0;
  private barShown = false;
  private last: Progress | null = null;
  readonly tty: boolean;

  constructor(
    private readonly out: OutStream,
    private readonly opts: { quiet?: boolean; forceTty?: boolean } = {},
  ) {
    this.tty = opts.forceTty ?? !!out.isTTY;
  }

  private clearBar(): void {
    if (this.barShown) {
      this.out.write('\r\x1b[K');
      this.barShown = false;
    }
  }

  /** Print a permanent line (above the bar on a TTY). */
  line(text: string): void {
    if (this.opts.quiet) return;
    this.clearBar();
    this.out.write(text + '\n');
    if (this.tty && this.last) this.draw(this.last, true);
  }

  record(r: MetricRecord, total: number, epochs: number | null): void {
    if (this.opts.quiet) return;
    // on a TTY the bar shows training metrics; evaluations get a line of their own
    if (this.tty && r.kind === 'train') return;
    this.line(recordLine(r, total, epochs));
  }

  progress(p: Progress): void {
    this.last = p;
    if (this.opts.quiet || !this.tty) return;
    const now = Date.now();
    if (p.phase === 'train' && now - this.lastDraw < 100 && p.iteration < p.total) return;
    this.draw(p, false);
  }

  private draw(p: Progress, force: boolean): void {
    if (!force) this.lastDraw = Date.now();
    const width = Math.max(40, (this.out.columns || 100) - 1);
    const frac = p.total > 0 ? Math.min(1, p.iteration / p.total) : 0;
    const parts: string[] = [];
    if (p.epochs !== null) parts.push(`epoch ${Math.min(p.epoch, p.epochs)}/${p.epochs}`);
    parts.push(`step ${p.iteration}/${p.total}`);
    if (p.lastTrain) parts.push(metricText(p.lastTrain));
    parts.push(`${Number.isFinite(p.stepsPerSec) ? p.stepsPerSec.toFixed(2) : '--'} it/s`);
    parts.push(p.phase === 'eval' ? 'evaluating…' : p.phase === 'checkpoint' ? 'saving…' : `ETA ${formatDuration(p.eta)}`);
    const text = parts.join('  ');
    const pctText = `${String(Math.floor(frac * 100)).padStart(3)}%  `;
    // the bar shrinks first (and goes away) on narrow terminals; the numbers stay
    const room = width - text.length - pctText.length - 3;
    let line = pctText + text;
    if (room >= 10) {
      const barWidth = Math.min(30, room);
      const filled = Math.round(frac * barWidth);
      line = `[${'█'.repeat(filled)}${'░'.repeat(barWidth - filled)}] ${line}`;
    }
    if (line.length > width) line = line.slice(0, width - 1) + '…';
    this.out.write(`\r\x1b[K${line}`);
    this.barShown = true;
  }

  /** End the bar line (before the summary). */
  finish(): void {
    if (this.barShown) {
      this.out.write('\n');
      this.barShown = false;
    }
  }
}
