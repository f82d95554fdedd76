// The end of scripts/device/run.sh: one summary table (stdout and OUT/summary.txt) and
// OUT/results.jsonl (every JSON line the steps printed, each tagged with {"step": name}).
//   node scripts/device/summary.mjs LOG_DIR OUT_DIR
// LOG_DIR/steps.tsv has one line per step: name, exit code, seconds, limit, note ('' or why skipped).
// A step's JSON lines are LOG_DIR/<name>.jsonl; the tests' vitest report is LOG_DIR/tests.json;
// the training's metrics are LOG_DIR/train/metrics.jsonl. Exit code: 0 when every step passed.
import { existsSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';

const [logs, out] = process.argv.slice(2);
if (!logs || !out) {
  console.error('usage: node scripts/device/summary.mjs LOG_DIR OUT_DIR');
  process.exit(2);
}

const read = (p) => (existsSync(p) ? readFileSync(p, 'utf8') : '');
const jsonLines = (p) =>
  read(p)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('{'))
    .flatMap((l) => {
      try {
        return [JSON.parse(l)];
      } catch {
        return [];
      }
    });

const steps = read(join(logs, 'steps.tsv'))
  .split('\n')
  .filter(Boolean)
  .map((l) => {
    const [name, rc, secs, limit, note] = l.split('\t');
    return { name, rc: Number(rc), secs: Number(secs), limit: Number(limit), note: note ?? '' };
  });

const results = join(out, 'results.jsonl');
writeFileSync(results, '');
// A record's own "step" (the training's iteration) is kept as "iteration".
const emit = (step, obj) => {
  const { step: own, ...rest } = obj;
  appendFileSync(results, `${JSON.stringify({ step, ...(own !== undefined ? { iteration: own } : {}), ...rest })}\n`);
};
const num = (x, d = 3) => (typeof x === 'number' && Number.isFinite(x) ? Number(x.toPrecision(d)).toString() : '-');
const MiB = (b) => (typeof b === 'number' ? `${(b / 1048576).toFixed(1)} MiB` : '-');
/** Headline figures of a bench's JSON lines, for the table. */
function headline(name, lines) {
  if (name === 'tune') {
    const t = lines.at(-1);
    return t ? `measured (${t.method ?? "?"}) in ${num((t.elapsedMs ?? NaN) / 1000)} s; chosen ${JSON.stringify(t.tuning ?? null).slice(0, 240)}` : '';
  }
  if (name === 'matmul') {
    const big = lines.filter((l) => l.size !== undefined).at(-1);
    return big ? `S=${big.size}: ours ${num(big.ours_gflops)} GFLOP/s, tfjs-webgpu ${num(big.tfjs_webgpu_gflops)}, tfjs-wasm ${num(big.tfjs_wasm_gflops)}` : '';
  }
  if (name === 'step-profile') return lines.filter((l) => l.ms_per_step !== undefined).map((l) => `${l.net}: ${num(l.ms_per_step)} ms/step, ${l.dispatches_per_step} dispatches`).join('; ');
  if (name.startsWith('tfjs-')) {
    const impl = name;
    const parity = lines.filter((l) => /-parity$/.test(l.case ?? ''));
    const ms = (c, i) => lines.find((l) => l.case === c && l.impl === i)?.ms;
    const bad = parity.filter((l) => l.ok === false).length;
    return `parity ${parity.length - bad}/${parity.length} ok; smnist FPTT step ours ${num(ms('smnist-fptt-step', 'ours'))} ms vs ${num(ms('smnist-fptt-step', impl))} ms; add FPTT step ours ${num(ms('add-fptt-step', 'ours'))} ms vs ${num(ms('add-fptt-step', impl))} ms`;
  }
  if (name === 'memory') {
    const T = Math.max(...lines.map((l) => l.T ?? 0));
    const at = (t) => lines.find((l) => l.T === T && l.trainer === t)?.peak_bytes;
    return `T=${T}: FPTT ${MiB(at('fptt'))}, BPTT ${MiB(at('bptt'))}`;
  }
  return '';
}

const rows = [];
let allOk = true;
for (const s of steps) {
  let status = s.rc === 0 ? 'ok' : s.rc === 124 || s.rc === 137 ? `TIMEOUT (${s.limit} s)` : `FAIL (exit ${s.rc})`;
  let note = s.note;
  let ok = s.rc === 0;
  if (s.rc === -1) {
    status = 'skipped';
    ok = !/required/.test(note);
  }
  const lines = jsonLines(join(logs, `${s.name}.jsonl`));
  for (const obj of lines) emit(s.name, obj);
  if (s.rc === -1) {
    // skipped: nothing to read
  } else if (s.name === 'adapter' && lines[0]) note = `${lines[0].adapter}; features: ${(lines[0].features ?? []).join(', ')}`;
  else if (s.name === 'tests') {
    const r = read(join(logs, 'tests.json'));
    if (r) {
      try {
        const j = JSON.parse(r);
        const skipped = (j.numPendingTests ?? 0) + (j.numTodoTests ?? 0);
        note = `${j.numPassedTests} passed, ${j.numFailedTests} failed, ${skipped} skipped of ${j.numTotalTests} in ${j.testResults?.length ?? '?'} files`;
        const failed = (j.testResults ?? []).flatMap((f) => (f.assertionResults ?? []).filter((a) => a.status === 'failed').map((a) => `${f.name.replace(/^.*\/test\//, 'test/')}: ${a.fullName}`));
        const failedFiles = (j.testResults ?? []).filter((f) => f.status === 'failed' && !(f.assertionResults ?? []).some((a) => a.status === 'failed')).map((f) => `${f.name.replace(/^.*\/test\//, 'test/')}: ${(f.message ?? '').split('\n')[0]}`);
        if (failed.length + failedFiles.length) note += `; failed: ${[...failed, ...failedFiles].slice(0, 5).join(' | ')}`;
        emit('tests', { passed: j.numPassedTests, failed: j.numFailedTests, skipped, total: j.numTotalTests, files: j.testResults?.length, failures: [...failed, ...failedFiles] });
        if (j.numFailedTests > 0 || j.success === false) ok = false;
        if (j.numTotalTests === 0) ok = false;
      } catch (e) {
        note = `unreadable vitest report: ${e.message}`;
        ok = false;
      }
    } else if (!note) note = 'no vitest report written';
  } else if (s.name === 'train') {
    const m = jsonLines(join(logs, 'train', 'metrics.jsonl'));
    const evals = m.filter((r) => r.kind === 'eval');
    const trains = m.filter((r) => r.kind === 'train');
    for (const r of evals) emit('train', r);
    const last = trains.at(-1);
    const acc = evals.map((r) => `${(100 * (r.accuracy ?? NaN)).toFixed(1)}%@${r.step}`);
    note = `${evals.length} evaluations, accuracy ${acc.join(' ') || '-'}${last ? `; last train loss ${Number(last.loss).toFixed(3)}${last.accuracy !== undefined ? `, batch accuracy ${(100 * last.accuracy).toFixed(1)}%` : ''} at iteration ${last.step}${last.stepsPerSec ? `, ${num(last.stepsPerSec)} iterations/s` : ''}` : ''}`;
    if (trains.length) emit('train', { kind: 'last-train', ...last });
    // The run is stopped by its time limit (SIGTERM: checkpoint, exit 143) by design.
    if ((s.rc === 143 || s.rc === 124 || s.rc === 137) && evals.length > 0) {
      ok = true;
      status = `ok (stopped at ${s.limit} s)`;
    }
  } else if (lines.length) note = [headline(s.name, lines), `${lines.length} JSON lines`, note].filter(Boolean).join('; ');
  if (!ok) allOk = false;
  rows.push([s.name, status, s.secs.toFixed(0), note]);
}

const head = ['step', 'result', 's', 'details'];
const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (i === 3 ? 0 : r[i].length))));
const fmt = (r) => r.map((c, i) => (i === 3 ? c : c.padEnd(w[i]))).join(' | ');
const info = read(join(logs, 'info.txt')).trim();
const total = steps.reduce((a, s) => a + s.secs, 0);
const text = [
  info,
  '',
  fmt(head),
  `${w.slice(0, 3).map((n) => '-'.repeat(n)).join('-|-')}-|--------`,
  ...rows.map(fmt),
  '',
  `${allOk ? 'ALL STEPS PASSED' : 'SOME STEPS FAILED'}; ${total.toFixed(0)} s in steps`,
].join('\n');
writeFileSync(join(out, 'summary.txt'), `${text}\n`);
process.stdout.write(`\n===== summary =====\n${text}\n`);
process.exit(allOk ? 0 : 1);
