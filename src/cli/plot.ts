/**
 * `webgpu-snn plot RUN.jsonl`: loss.svg and accuracy.svg / mse.svg next to the file (or in --out);
 * with --raster also raster.svg and membrane.svg from the trained network (the run folder's
 * checkpoint, or --checkpoint) run over one test sample.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { Engine } from '../engine.js';
import { checkpointParams, readCheckpointFile } from '../train/checkpoint.js';
import { mergeConfig, parseConfigObject, netSpecOf } from '../tasks/config.js';
import { presetFor } from '../tasks/presets.js';
import { createTaskData, defaultDataDir } from '../tasks/node_data.js';
import { stateSeed } from '../tasks/data.js';
import { metricCharts, parseMetricsJsonl } from '../plot/metrics.js';
import { activityCharts, recordActivity } from '../plot/activity.js';
import { boxesChart, type BoxExample } from '../plot/detect.js';
import { UsageError, parseArgs, type OptionSpec } from './args.js';
import { makeFolder, writeTextFile, type CliIo } from './io.js';

export const PLOT_OPTIONS: OptionSpec[] = [
  { name: 'out', type: 'string', arg: 'DIR', help: 'folder for the SVG files (default: next to RUN.jsonl)' },
  { name: 'log', type: 'flag', help: 'log-scale loss (and MSE) axis' },
  { name: 'title', type: 'string', arg: 'TEXT', help: 'chart title prefix (default: the task)' },
  { name: 'raster', type: 'flag', help: 'also raster.svg and membrane.svg: the trained network on one test sample' },
  { name: 'checkpoint', type: 'string', arg: 'CKPT', help: '(raster) checkpoint to run (default: checkpoint.safetensors in the run folder)' },
  { name: 'sample', type: 'count', arg: 'N', help: '(raster) index of the test sample (default 0)' },
  { name: 'layer', type: 'count', arg: 'L', help: '(raster) only this layer in the raster; the membrane layer (default: the last)' },
  { name: 'neurons', type: 'int', arg: 'N', help: '(raster) membrane traces to draw (default 4, the most active neurons)' },
  { name: 'data', type: 'string', arg: 'DIR', help: '(raster) data folder (default $SNN_DATA_DIR, else ../shared/data)' },
  { name: 'adapter', type: 'string', arg: 'NAME', help: '(raster) GPU adapter name filter' },
];

export async function plotCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { positionals, options: o } = parseArgs(argv, PLOT_OPTIONS, 'plot');
  if (positionals.length !== 1) throw new UsageError(positionals.length ? `unexpected argument ${JSON.stringify(positionals[1])}` : 'which run? `webgpu-snn plot RUN.jsonl` (or the run folder)', 'plot');
  const cwd = io.cwd ?? process.cwd();
  let file = path.resolve(cwd, positionals[0]!);
  if (existsSync(file) && statSync(file).isDirectory()) file = path.join(file, 'metrics.jsonl');
  if (!existsSync(file)) throw new UsageError(`${file} does not exist (expected a run's metrics.jsonl, or the run folder holding it)`, 'plot');
  const runDir = path.dirname(file);
  const outDir = o['out'] !== undefined ? path.resolve(cwd, o['out'] as string) : runDir;
  makeFolder(outDir, 'the chart folder');

  const records = parseMetricsJsonl(readFileSync(file, 'utf8'), file);
  let title = o['title'] as string | undefined;
  const cfgFile = path.join(runDir, 'config.json');
  if (title === undefined && existsSync(cfgFile)) {
    try {
      const task = (JSON.parse(readFileSync(cfgFile, 'utf8')) as { task?: string }).task;
      if (task) title = presetFor(task).title;
    } catch {
      /* the title is optional */
    }
  }
  const charts = metricCharts(records, { ...(title ? { title } : {}), logLoss: !!o['log'] });
  const written: string[] = [];
  for (const [name, svg] of Object.entries(charts.files)) {
    writeTextFile(path.join(outDir, name), svg, 'the chart');
    written.push(name);
  }
  if (records.length === 0) io.stderr.write(`warning: ${file} holds no records; the charts are empty\n`);
  // a detector's run: boxes.svg from the last evaluation's sample test images
  const detFile = path.join(runDir, 'detections.json');
  if (existsSync(detFile)) {
    let det: { step: number; weights?: string; examples: BoxExample[] };
    try {
      det = JSON.parse(readFileSync(detFile, 'utf8'));
      if (!Array.isArray(det.examples)) throw new Error('no "examples" list');
    } catch (e) {
      throw new Error(`${detFile} is not a detections file written by webgpu-snn train: ${(e as Error).message}`);
    }
    const svg = boxesChart(det.examples, { title: `${title ? `${title}: ` : ''}held-out scenes at iteration ${det.step}${det.weights === 'mean' ? ' (W̄)' : ''}` });
    writeTextFile(path.join(outDir, 'boxes.svg'), svg, 'the chart');
    written.push('boxes.svg');
  }

  if (o['raster']) {
    const ckFile = path.resolve(cwd, (o['checkpoint'] as string | undefined) ?? path.join(runDir, 'checkpoint.safetensors'));
    const ck = await readCheckpointFile(ckFile);
    if (ck.meta.config === undefined) throw new Error(`checkpoint ${ckFile}: it holds no run config, so the task data cannot be rebuilt`);
    const preset = presetFor(ck.meta.task);
    const cfg = mergeConfig(preset.defaults, parseConfigObject(ck.meta.config, `checkpoint ${ckFile} (config)`));
    const dataDir = path.resolve(cwd, (o['data'] as string | undefined) ?? defaultDataDir(io.packageRoot));
    const data = createTaskData(cfg, dataDir);
    const want = (o['sample'] as number | undefined) ?? 0;
    if (want >= data.evalSize) throw new UsageError(`--sample ${want}: the test split has ${data.evalSize} samples`, 'plot');
    // find the batch holding sample `want`
    let seen = 0;
    let found: { batch: import('../data/dataset.js').Batch; row: number } | null = null;
    for (const b of data.evalBatches()) {
      if (want < seen + b.size) {
        found = { batch: b, row: want - seen };
        break;
      }
      seen += b.size;
    }
    const { batch, row } = found!;
    const D = batch.inputSize;
    const tmp = new Float32Array(batch.size * D);
    const src = {
      fillStep(t: number, out: Float32Array) {
        batch.fillStep(t, tmp, 0);
        out.set(tmp.subarray(row * D, row * D + D));
      },
    };
    const spec = netSpecOf(cfg, preset.shape(cfg));
    const engine = io.engine ?? (await Engine.create(o['adapter'] !== undefined ? { adapterName: o['adapter'] as string } : {}));
    try {
      const act = await recordActivity(engine, spec, checkpointParams(ck), cfg.trainer.steps, src, stateSeed(cfg));
      let what = `sample ${want}`;
      if (preset.classes > 0) {
        const o2 = act.output;
        let arg = 0;
        for (let c = 1; c < o2.length; c++) if (o2[c]! > o2[arg]!) arg = c;
        what += ` (label ${batch.labels[row]}, predicted ${arg})`;
      } else {
        what += ` (target ${batch.targets![row]!.toFixed(3)}, predicted ${act.output[0]!.toFixed(3)})`;
      }
      const charts2 = activityCharts(act, {
        title: `${preset.title}, ${what}`,
        ...(o['layer'] !== undefined ? { layer: o['layer'] as number } : {}),
        ...(o['neurons'] !== undefined ? { neurons: o['neurons'] as number } : {}),
      });
      for (const [name, svg] of Object.entries(charts2)) {
        writeTextFile(path.join(outDir, name), svg, 'the chart');
        written.push(name);
      }
    } finally {
      if (!io.engine) engine.destroy();
    }
  }
  io.stdout.write(`wrote ${written.map((n) => path.join(outDir, n)).join(', ')}\n`);
  return 0;
}
