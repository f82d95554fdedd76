// Embedding webgpu-snn: learn online from a stream, one time step at a time.
//
//   npm run build && node examples/online_stream.mjs [--windows 80]
//
// A program has B sensors, each sending one sample per tick. Every sensor is driven by one of three
// hidden sources (a slow sine, a fast sine, a square wave; random phase, amplitude and noise) that
// changes every WINDOW ticks, and the program knows which source is on (its teacher signal). The
// spiking network sees each tick's B samples as they arrive and makes one FPTT update per tick —
// no sequence is stored, memory does not grow with time. Every few windows it reads back the
// accuracy, the spikes and the membrane potentials; at the end it runs a few windows forward-only
// (no learning) and shows its predictions.
import { Engine, OnlineLearner, Rng } from 'webgpu-snn'; // this package (dist/node/index.js)

const arg = (name, d) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const B = 16; // streams
const WINDOW = 30; // ticks per window (the FPTT loss weights count steps within it)
const WINDOWS = arg('--windows', 80);
const SOURCES = ['slow sine', 'fast sine', 'square'];

// ---- the program's own data: B sensor streams ----------------------------------------------
const rng = new Rng(42);
const streams = Array.from({ length: B }, () => ({ source: 0, phase: 0, amp: 1 }));
function switchSources() {
  for (const s of streams) {
    s.source = rng.int(3);
    s.phase = rng.range(0, 2 * Math.PI);
    s.amp = rng.range(0.6, 1.0);
  }
}
function tick(t) {
  // one sample per stream: value, and its change since the last tick
  const x = new Float32Array(B * 2);
  streams.forEach((s, b) => {
    const f = (k) => {
      const w = s.phase + k * (s.source === 0 ? (2 * Math.PI) / 24 : (2 * Math.PI) / 6);
      const v = s.source === 2 ? Math.sign(Math.sin(s.phase + (k * 2 * Math.PI) / 12)) : Math.sin(w);
      return s.amp * v;
    };
    const noise = 0.1 * rng.normal();
    x[2 * b] = f(t) + noise;
    x[2 * b + 1] = f(t) - f(t - 1);
  });
  return x;
}

// ---- the network --------------------------------------------------------------------------------
const engine = await Engine.create(); // Dawn in Node; SwiftShader is found by itself when there is no GPU
console.log(`adapter: ${engine.adapterName}`);
const spec = {
  batch: B,
  input: 2,
  layers: [{ size: 32, kind: 'ltc', recurrent: true, adapt: true }],
  head: { kind: 'readout', classes: 3, liquid: true },
};
const learner = new OnlineLearner(engine, spec, { window: WINDOW, optimizer: { kind: 'adamax', lr: 0.01 }, fptt: { alpha: 0.1 } });

const t0 = performance.now();
let tickNo = 0;
for (let w = 0; w < WINDOWS; w++) {
  switchSources();
  await learner.begin({ labels: streams.map((s) => s.source) }); // fresh random state per window
  for (let t = 0; t < WINDOW; t++) learner.learn(tick(tickNo++)); // learn while the data arrives
  if ((w + 1) % 20 === 0) {
    const m = await learner.readMetrics(); // loss and last-tick accuracy over the last 20 windows
    const st = await learner.readState(); // state after the last tick
    const spikes = st['l0.s'].reduce((a, v) => a + v, 0);
    const rate = (learner.stepsLearned / (performance.now() - t0)) * 1000;
    console.log(
      `window ${String(w + 1).padStart(4)}  ticks ${String(learner.stepsLearned).padStart(6)}  loss ${m.loss.toFixed(3)}  ` +
        `accuracy ${(m.accuracy * 100).toFixed(0).padStart(3)}%  |g| ${m.gradNorm.toFixed(3)}  ` +
        `spikes now ${spikes}/${st['l0.s'].length}  u[0..3] ${Array.from(st['l0.u'].slice(0, 4), (v) => v.toFixed(2)).join(' ')}  ${rate.toFixed(0)} ticks/s`,
    );
  }
}

// ---- forward only: watch it classify new streams ---------------------------------------------------
let correct = 0;
const EVAL = 5;
for (let w = 0; w < EVAL; w++) {
  switchSources();
  await learner.begin({ labels: streams.map((s) => s.source) });
  let spikeCount = 0;
  for (let t = 0; t < WINDOW; t++) {
    learner.infer(tick(tickNo++));
    if (t % 10 === 9) spikeCount += (await learner.readState())['l0.s'].reduce((a, v) => a + v, 0); // a peek, between steps
  }
  const o = (await learner.readState())['o']; // B×3 readout after the window's last tick
  const guess = streams.map((_, b) => [0, 1, 2].reduce((best, c) => (o[b * 3 + c] > o[b * 3 + best] ? c : best), 0));
  guess.forEach((g, b) => (correct += g === streams[b].source ? 1 : 0));
  if (w === 0) {
    console.log('forward only, first window:');
    for (let b = 0; b < 4; b++) console.log(`  stream ${b}: source ${SOURCES[streams[b].source].padEnd(9)} → guess ${SOURCES[guess[b]]}`);
    console.log(`  (${spikeCount} spikes in the peeked ticks)`);
  }
}
console.log(`forward-only accuracy over ${EVAL} new windows: ${((correct / (EVAL * B)) * 100).toFixed(0)}% (chance 33%)`);

learner.destroy();
engine.destroy();
