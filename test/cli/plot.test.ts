/** SVG charts and the progress printer (no GPU). */
import { describe, expect, it } from 'vitest';
import { lineChart, membraneChart, niceTicks, rasterChart, tickLabel } from '../../src/plot/svg.js';
import { metricCharts, parseMetricsJsonl } from '../../src/plot/metrics.js';
import { ProgressPrinter, formatDuration, recordLine } from '../../src/cli/progress.js';
import type { MetricRecord } from '../../src/train/loop.js';
import { parseXml } from './xml.js';

const svgOk = (svg: string) => {
  const els = parseXml(svg);
  expect(els[0]!.name).toBe('svg');
  return els;
};

function records(classification: boolean): MetricRecord[] {
  const out: MetricRecord[] = [];
  for (let s = 10; s <= 300; s += 10) {
    const loss = 0.2 * Math.exp(-s / 100) + 0.01 * Math.sin(s);
    out.push({ kind: 'train', epoch: classification ? 1 + Math.floor(s / 100) : 0, step: s, loss, ...(classification ? { accuracy: 1 - loss } : { mse: 2 * loss }), gradNorm: 0.3, stepsPerSec: 2.5, time: s / 2.5 });
    if (s % 50 === 0) out.push({ kind: 'eval', epoch: 0, step: s, loss: loss * 1.1, ...(classification ? { accuracy: 0.9 } : { mse: loss * 1.1, mseMean: loss }), samples: 256, weights: 'W', time: s / 2.5 });
  }
  return out;
}

describe('charts', () => {
  it('nice ticks and labels', () => {
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6000000000000001, 0.8, 1]);
    expect(niceTicks(3, 997, 6)).toEqual([200, 400, 600, 800]);
    expect(tickLabel(12000)).toBe('12k');
    expect(tickLabel(0.25, 0.05)).toBe('0.25');
    expect(tickLabel(-2, 1)).toBe('−2');
  });

  it('regression runs give loss.svg and mse.svg with train, eval and W̄ series', () => {
    const c = metricCharts(records(false), { title: 'Add task', logLoss: true });
    expect(Object.keys(c.files).sort()).toEqual(['loss.svg', 'mse.svg']);
    const mse = c.files['mse.svg']!;
    const els = svgOk(mse);
    expect(els.filter((e) => e.name === 'path').length).toBeGreaterThanOrEqual(4);
    expect(mse).toContain('chance ≈ 0.167');
    expect(mse).toContain('eval (W̄)');
    expect(mse).toContain('MSE (log)');
    svgOk(c.files['loss.svg']!);
  });

  it('classification runs give accuracy.svg in percent', () => {
    const c = metricCharts(records(true));
    expect(Object.keys(c.files).sort()).toEqual(['accuracy.svg', 'loss.svg']);
    const acc = c.files['accuracy.svg']!;
    svgOk(acc);
    expect(acc).toContain('accuracy (%)');
    expect(acc).toContain('>100<');
  });

  it('survives empty, single-point, NaN and non-positive data', () => {
    svgOk(lineChart([], { title: 'empty', xLabel: 'x', yLabel: 'y' }));
    svgOk(lineChart([{ name: 'one', points: [[5, 0.5]] }], { title: 'one <point> & "quotes"', xLabel: 'x', yLabel: 'y', logY: true }));
    svgOk(lineChart([{ name: 'gaps', points: [[0, 1], [1, null], [2, NaN], [3, 0], [4, -1], [5, 2]] }], { title: 't', xLabel: 'x', yLabel: 'y', logY: true }));
    const flat = lineChart([{ name: 'flat', points: [[0, 3], [1, 3]] }], { title: 't', xLabel: 'x', yLabel: 'y' });
    svgOk(flat);
    expect(flat).not.toContain('NaN');
  });

  it('raster and membrane charts', () => {
    const T = 30;
    const spikes = (H: number, p: number) => Array.from({ length: T }, (_, t) => Float32Array.from({ length: H }, (_, h) => ((t * 7 + h * 3) % p === 0 ? 1 : 0)));
    const r = rasterChart(
      [
        { name: 'layer 0', size: 20, spikes: spikes(20, 5) },
        { name: 'layer 1', size: 10, spikes: spikes(10, 9) },
      ],
      { title: 'raster', steps: T },
    );
    const els = svgOk(r);
    expect(els.filter((e) => e.name === 'rect').length).toBeGreaterThan(50);
    expect(r).toContain('layer 1 (10)');
    const m = membraneChart(
      [0, 1, 2].map((i) => ({
        name: `n${i}`,
        u: Float32Array.from({ length: T }, (_, t) => Math.sin(t / 3 + i)),
        theta: Float32Array.from({ length: T }, () => 0.5),
        spikes: Float32Array.from({ length: T }, (_, t) => (Math.sin(t / 3 + i) > 0.5 ? 1 : 0)),
      })),
      { title: 'membrane' },
    );
    expect(svgOk(m).filter((e) => e.name === 'path').length).toBe(6);
  });
});

describe('metrics.jsonl parsing', () => {
  it('reads records, skips a partial last line, and names the line of a bad one', () => {
    const good = '{"kind":"train","epoch":0,"step":10,"loss":0.1,"mse":0.2,"time":1}\n{"kind":"eval","epoch":0,"step":10,"loss":null,"mse":null,"time":2}\n';
    expect(parseMetricsJsonl(good, 'm.jsonl')).toHaveLength(2);
    expect(parseMetricsJsonl(good + '{"kind":"tr', 'm.jsonl')).toHaveLength(2);
    expect(() => parseMetricsJsonl('{"kind":"x","step":1}\n' + good, 'm.jsonl')).toThrow('m.jsonl:1: "kind" must be "train" or "eval"');
    expect(() => parseMetricsJsonl('nope\n' + good, 'm.jsonl')).toThrow('m.jsonl:1: not valid JSON');
  });
});

describe('progress output', () => {
  const p = { iteration: 40, total: 100, epoch: 1, epochs: 2, batchInEpoch: 40, batchesPerEpoch: 50, lastTrain: records(true)[0]!, lastEval: null, stepsPerSec: 2, eta: 30, time: 20, phase: 'train' as const };

  it('plain lines when not a TTY', () => {
    let out = '';
    const pr = new ProgressPrinter({ write: (s: string) => (out += s), isTTY: false });
    pr.progress(p);
    expect(out).toBe('');
    pr.record(records(true)[0]!, 100, 2);
    expect(out).toBe('train  epoch 1/2  step 10/100  loss 0.1755  acc 82.4%  |g| 0.300  2.50 it/s  4s\n');
  });

  it('one updating line on a TTY', () => {
    let out = '';
    const pr = new ProgressPrinter({ write: (s: string) => (out += s), isTTY: true, columns: 120 });
    pr.progress(p);
    expect(out.startsWith('\r\x1b[K[')).toBe(true);
    expect(out).toContain(' 40%  epoch 1/2  step 40/100  loss 0.1755  acc 82.4%  2.00 it/s  ETA 30s');
    expect(out).not.toContain('\n');
    out = '';
    pr.record({ ...records(true)[5]!, kind: 'eval', samples: 100, weights: 'mean' }, 100, 2);
    expect(out).toMatch(/^\r\x1b\[Keval {3}step 50\/100 .*\(100 samples, W̄\)\n\r\x1b\[K\[/);
    pr.finish();
    expect(out.endsWith('\n')).toBe(true);
    expect(formatDuration(3725)).toBe('1h02m');
    expect(recordLine({ kind: 'eval', epoch: 0, step: 5, loss: null, mse: null, time: 1, samples: 8, weights: 'W' }, 10, null)).toBe('eval   step 5/10  loss n/a  mse n/a  (8 samples, W)');
  });
});
