/**
 * Benchmark runner: `npm run bench -- <name> [--json] [--quick] [--key=value …]`.
 *
 * Each bench validates its results against the CPU reference before timing, prints the adapter
 * and the commit, a readable table, and with --json one JSON object per line on stdout (the
 * readable lines then go to stderr). Add a bench by adding an entry to BENCHES.
 */
import { parseArgs, setJsonMode, type BenchArgs } from './common.js';
import { runAddTaskBench } from './add_task.bench.js';
import { runConvBench } from './conv.bench.js';
import { runMatmulBench } from './matmul.bench.js';
import { runMemoryBench } from './memory.bench.js';
import { runStepBench } from './step.bench.js';
import { runTfjsBench } from './tfjs.bench.js';
import { runPeakBench } from './peak.bench.js';
import { runSoakBench } from './soak.bench.js';

export const BENCHES: Record<string, (args: BenchArgs) => Promise<void>> = {
  matmul: runMatmulBench,
  step: runStepBench,
  conv: runConvBench,
  'add-task': runAddTaskBench,
  memory: runMemoryBench,
  tfjs: runTfjsBench,
  peak: runPeakBench,
  soak: runSoakBench,
};

function usage(): string {
  return [
    'usage: npm run bench -- <name> [--json] [--quick] [options]',
    `benches: ${Object.keys(BENCHES).join(', ')}`,
    '  matmul  [--sizes=128,512,1024] [--repeats=N] [--no-tfjs]   ours vs tfjs-webgpu vs tfjs-wasm',
    '  step    [--steps=N] [--repeats=N]   dispatches and ms per FPTT step, Add-task and S-MNIST networks',
    '  add-task [--T=200] [--H=64] [--B=64] [--iterations=1500] [--target=0.01]   FPTT K = T until the mean of 5 evaluations < target',
    '  conv    [--repeats=N] [--no-tfjs]   conv2d forward / input / weight gradient, ours vs tfjs-webgpu and tfjs-wasm',
    '  memory  [--T=100,300,1000] [--H=128] [--B=128]   peak device bytes, FPTT vs BPTT, against T',
    '  memory --model=dvsgesture-conv [--T=20,100] [--B=1] [--run-steps=2] [--bptt-run-max=0]   the DVS-Gesture conv net at full size',
    '  tfjs    [--backends=webgpu,wasm,cpu] [--T=50|100] [--infer-T=N] [--memory|--no-memory] [--mem-T=…] [--profile]   ours vs tfjs: parity, ms/step, ms/sequence, memory',
    '  peak    [--repeats=N]   adapter FMA and copy ceilings; our kernels as a fraction of them',
    '  soak    [--steps=100000] [--T=10] [--H=32] [--B=32] [--samples=25]   long FPTT run: RSS and device bytes stay flat, no non-finite value',
    '  matmul --sweep [--size=512] [--wide] [--kernels=forward,backwardInput,backwardWeight]   tile sweep for tuning.ts',
  ].join('\n');
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const bench = BENCHES[args.name];
  if (!bench) {
    process.stderr.write(`${args.name ? `unknown bench "${args.name}"\n` : ''}${usage()}\n`);
    return 2;
  }
  setJsonMode(args.json);
  await bench(args);
  return 0;
}

main().then(
  // Exit explicitly: Dawn's instance keeps the event loop alive (webgpu README).
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
