/** The detector's pictures: map.svg, ap.svg and boxes.svg (no GPU), and the plot command writing them from a run folder. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { metricCharts } from '../../src/plot/metrics.js';
import { apChart, boxesChart, type BoxExample } from '../../src/plot/detect.js';
import { plotCommand } from '../../src/cli/plot.js';
import { recordToJsonl, type MetricRecord } from '../../src/train/loop.js';
import { parseXml } from './xml.js';

const example = (k: number): BoxExample => {
  const img = new Array(16 * 16).fill(0);
  for (let r = 4; r < 10; r++) for (let c = 3 + k; c < 8 + k; c++) img[r * 16 + c] = (r + c) / 20;
  return {
    image: img,
    shape: [1, 16, 16],
    truth: [{ x0: 3 + k, y0: 4, x1: 8 + k, y1: 10, cls: 7 }],
    detections: [
      { x0: 3.5 + k, y0: 4, x1: 8 + k, y1: 10.5, cls: 7, score: 0.91 },
      { x0: 0, y0: 0, x1: 5, y1: 5, cls: 2, score: 0.1 },
    ],
  };
};

const evals = (): MetricRecord[] =>
  [100, 200, 300].map((s, i) => ({ kind: 'eval', epoch: i + 1, step: s, loss: 5 - i, map50: 0.2 * (i + 1), map: 0.1 * (i + 1), ap50: [0.5, null, 0.25, 1, 0, 0, 0, 0.75, 0, 0.1], samples: 1000, weights: 'mean', time: s }));

describe('detector pictures', () => {
  it('metric charts of a detector: loss, mAP (both thresholds) and the last AP per class', () => {
    const recs: MetricRecord[] = [{ kind: 'train', epoch: 1, step: 10, loss: 9, gradNorm: 1, stepsPerSec: 0.3, time: 30 }, ...evals()];
    const c = metricCharts(recs, { title: 'MNIST detection' });
    expect(c.kind).toBe('detection');
    expect(Object.keys(c.files).sort()).toEqual(['ap.svg', 'loss.svg', 'map.svg']);
    const map = c.files['map.svg']!;
    expect(parseXml(map)[0]!.name).toBe('svg');
    expect(map).toContain('mAP@0.5, eval (W̄)');
    expect(map).toContain('mAP@[.5:.95]');
    const ap = c.files['ap.svg']!;
    expect(ap).toContain('iteration 300');
    expect(ap).toContain('>n/a<'); // class 1 has no positives
    expect(ap).toContain('mean 0.289'); // mean over the 9 classes with positives: 2.6/9
  });

  it('AP bars: one per class with positives, heights from the AP', () => {
    const svg = apChart([1, 0.5, null], { title: 't' });
    const bars = parseXml(svg).filter((e) => e.name === 'rect' && e.attrs['fill'] !== '#ffffff');
    expect(bars.map((b) => Number(b.attrs['height']))).toEqual([220, 110]);
  });

  it('boxes: true boxes dashed, predictions above the score threshold with class and score', () => {
    const svg = boxesChart([example(0), example(2)], { title: 'scenes <1>' });
    const els = parseXml(svg);
    const dashed = els.filter((e) => e.name === 'rect' && e.attrs['stroke-dasharray']);
    expect(dashed.length).toBe(2);
    expect(svg).toContain('7 0.91');
    expect(svg).not.toContain('2 0.10'); // below the default 0.3
    expect(svg).toContain('scenes &lt;1&gt;');
    // the true box of image 0 at 12 px per pixel: x = 12 + 3·12
    expect(dashed[0]!.attrs['x']).toBe(String(12 + 3 * 12));
  });

  it('`webgpu-snn plot` on a detector run folder writes map.svg, ap.svg and boxes.svg; examples stay out of metrics.jsonl', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'snn-plot-det-'));
    const recs = evals();
    recs[2]!.examples = [example(1)] as never;
    writeFileSync(path.join(dir, 'metrics.jsonl'), recs.map((r) => recordToJsonl(r) + '\n').join(''));
    expect(readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')).not.toContain('examples');
    writeFileSync(path.join(dir, 'detections.json'), JSON.stringify({ step: 300, epoch: 3, weights: 'mean', examples: recs[2]!.examples }));
    let out = '';
    const io = { cwd: dir, stdout: { write: (s: string) => (out += s) }, stderr: { write: () => true }, packageRoot: process.cwd() };
    expect(await plotCommand([dir], io as never)).toBe(0);
    for (const f of ['loss.svg', 'map.svg', 'ap.svg', 'boxes.svg']) expect(out).toContain(path.join(dir, f));
    expect(readFileSync(path.join(dir, 'boxes.svg'), 'utf8')).toContain('held-out scenes at iteration 300 (W̄)');
    writeFileSync(path.join(dir, 'detections.json'), '{"nope": 1}');
    await expect(plotCommand([dir], io as never)).rejects.toThrow('detections.json is not a detections file written by webgpu-snn train: no "examples" list');
  });
});
