/**
 * Charts of a run's metrics.jsonl (browser-safe): loss and accuracy (classification) or MSE
 * (regression) against training iterations, train and evaluation series; for a detector the
 * evaluation's mAP@0.5 and mAP@[.5:.95] and the last evaluation's AP per class.
 */
import type { MetricRecord } from '../train/loop.js';
import { lineChart, type Series } from './svg.js';
import { apChart } from './detect.js';

/** Parses metrics.jsonl text; a bad line is an error naming the file and the line. */
export function parseMetricsJsonl(text: string, file: string): MetricRecord[] {
  const out: MetricRecord[] = [];
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let r: unknown;
    try {
      r = JSON.parse(line);
    } catch (e) {
      // a run killed while writing may leave a partial last line: ignore only that one
      if (i >= lines.length - 2) return;
      throw new Error(`${file}:${i + 1}: not valid JSON (${(e as Error).message})`);
    }
    if (typeof r !== 'object' || r === null) throw new Error(`${file}:${i + 1}: expected a JSON object`);
    const o = r as Record<string, unknown>;
    if (o['kind'] === 'nonfinite') return; // the non-finite guard's stop event: not a point of any series
    if (o['kind'] !== 'train' && o['kind'] !== 'eval') throw new Error(`${file}:${i + 1}: "kind" must be "train" or "eval" (or "nonfinite"), got ${JSON.stringify(o['kind'])}`);
    if (typeof o['step'] !== 'number') throw new Error(`${file}:${i + 1}: "step" must be a number`);
    out.push(o as unknown as MetricRecord);
  });
  return out;
}

const val = (x: number | null | undefined): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);

export interface MetricCharts {
  /** File name → SVG text: loss.svg and accuracy.svg or mse.svg, or (detection) map.svg and ap.svg. */
  files: Record<string, string>;
  kind: 'classification' | 'regression' | 'detection';
}

/** Smooths a noisy train series with an exponential moving average (bias-corrected). */
function ema(points: [number, number | null][], beta: number): [number, number | null][] {
  let m = 0;
  let w = 0;
  return points.map(([x, y]) => {
    if (y === null) return [x, null];
    m = beta * m + (1 - beta) * y;
    w = beta * w + (1 - beta);
    return [x, m / w];
  });
}

export function metricCharts(records: readonly MetricRecord[], o: { title?: string; logLoss?: boolean } = {}): MetricCharts {
  const train = records.filter((r) => r.kind === 'train');
  const evals = records.filter((r) => r.kind === 'eval');
  const classification = records.some((r) => r.accuracy !== undefined);
  const title = o.title ? `${o.title}: ` : '';
  const smooth = train.length > 60;
  const trainSeries = (pick: (r: MetricRecord) => number | null | undefined, name: string): Series[] => {
    const pts = train.map((r) => [r.step, val(pick(r))] as [number, number | null]);
    if (!smooth) return [{ name, points: pts, color: '#2563eb' }];
    return [
      { name: `${name} (raw)`, points: pts, color: '#93c5fd', width: 1, opacity: 0.8 },
      { name: `${name} (smoothed)`, points: ema(pts, 0.9), color: '#2563eb' },
    ];
  };
  const evalSeries = (pick: (r: MetricRecord) => number | null | undefined, name: string, color: string, dashed = false): Series => ({
    name,
    points: evals.map((r) => [r.step, val(pick(r))] as [number, number | null]),
    color,
    markers: true,
    ...(dashed ? { dashed } : {}),
  });
  const evalName = evals.some((r) => r.weights === 'mean') && !evals.some((r) => r.weights === 'W') ? 'eval (W̄)' : 'eval';
  const files: Record<string, string> = {};
  const lossSeries: Series[] = [...trainSeries((r) => r.loss, 'train'), evalSeries((r) => r.loss, evalName, '#dc2626')];
  if (evals.some((r) => val(r.lossMean) !== null)) lossSeries.push(evalSeries((r) => r.lossMean, 'eval (W̄)', '#059669', true));
  files['loss.svg'] = lineChart(lossSeries, { title: `${title}loss`, xLabel: 'training iteration', yLabel: 'loss', logY: !!o.logLoss, xFromZero: true });
  if (evals.some((r) => r.map50 !== undefined)) {
    files['map.svg'] = lineChart(
      [evalSeries((r) => (val(r.map50) === null ? null : 100 * r.map50!), `mAP@0.5, ${evalName}`, '#dc2626'), evalSeries((r) => (val(r.map) === null ? null : 100 * r.map!), `mAP@[.5:.95], ${evalName}`, '#2563eb', true)],
      { title: `${title}mAP on the held-out scenes`, xLabel: 'training iteration', yLabel: 'mAP (%)', yMin: 0, yMax: 100, xFromZero: true },
    );
    const last = [...evals].reverse().find((r) => r.ap50 !== undefined);
    if (last) files['ap.svg'] = apChart(last.ap50!, { title: `${title}AP@0.5 per class (iteration ${last.step})` });
    return { files, kind: 'detection' };
  }
  if (classification) {
    files['accuracy.svg'] = lineChart(
      [...trainSeries((r) => (val(r.accuracy) === null ? null : 100 * r.accuracy!), 'train'), evalSeries((r) => (val(r.accuracy) === null ? null : 100 * r.accuracy!), evalName, '#dc2626')],
      { title: `${title}accuracy`, xLabel: 'training iteration', yLabel: 'accuracy (%)', yMin: 0, yMax: 100, xFromZero: true },
    );
  } else {
    const mseSeries: Series[] = [...trainSeries((r) => r.mse, 'train (last step)'), evalSeries((r) => r.mse, evalName, '#dc2626')];
    if (evals.some((r) => val(r.mseMean) !== null)) mseSeries.push(evalSeries((r) => r.mseMean, 'eval (W̄)', '#059669', true));
    files['mse.svg'] = lineChart(mseSeries, {
      title: `${title}MSE`,
      xLabel: 'training iteration',
      yLabel: 'MSE',
      logY: !!o.logLoss,
      xFromZero: true,
      refLines: [{ y: 1 / 6, label: 'chance ≈ 0.167' }],
    });
  }
  return { files, kind: classification ? 'classification' : 'regression' };
}
