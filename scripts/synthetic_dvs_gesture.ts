// Writes a small synthetic DVS-Gesture folder (AEDAT 3.1 trials, labels CSVs, train/test lists) to
// exercise the dvsgesture CLI path without the real recordings (not in shared/data):
//   npx esbuild scripts/synthetic_dvs_gesture.ts --bundle --platform=node --format=esm --outfile=dist/synthetic_dvs_gesture.mjs
//   node dist/synthetic_dvs_gesture.mjs /tmp/dvsdata
//   npx webgpu-snn train dvsgesture --config configs/dvsgesture-conv.json --data /tmp/dvsdata --pool 4 --steps 4 --batch 2 --iterations 2
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildAedat31 } from '../test/data/helpers.js';
import { Rng } from '../src/util/rng.js';
const dir = process.argv[2]!;
mkdirSync(path.join(dir, 'DvsGesture'), { recursive: true });
const rng = new Rng(5);
const lists: Record<string, string[]> = { train: [], test: [] };
for (const [split, n] of [['train', 2], ['test', 1]] as const) {
  for (let k = 0; k < n; k++) {
    const name = `user${split === 'train' ? 1 + k : 20}_fluorescent.aedat`;
    const events = [];
    const labels = ['class,startTime_usec,endTime_usec'];
    for (let seg = 0; seg < 3; seg++) {
      const cls = 1 + ((seg + k) % 11);
      const t0 = 1_000_000 * seg + 10;
      labels.push(`${cls},${t0},${t0 + 800_000}`);
      // a moving blob per class
      for (let i = 0; i < 3000; i++) {
        const t = t0 + Math.floor((i / 3000) * 800_000);
        const cx = (20 + cls * 8 + Math.floor((i / 3000) * 40)) % 128;
        events.push({ x: Math.min(127, Math.max(0, cx + rng.int(9) - 4)), y: Math.min(127, 40 + cls * 5 + rng.int(9) - 4), p: rng.int(2), t });
      }
    }
    writeFileSync(path.join(dir, 'DvsGesture', name), buildAedat31([{ type: 1, events, tsOverflow: 0 }]));
    writeFileSync(path.join(dir, 'DvsGesture', name.replace('.aedat', '_labels.csv')), labels.join('\n') + '\n');
    lists[split]!.push(name);
  }
}
writeFileSync(path.join(dir, 'DvsGesture', 'trials_to_train.txt'), lists.train!.join('\n') + '\n');
writeFileSync(path.join(dir, 'DvsGesture', 'trials_to_test.txt'), lists.test!.join('\n') + '\n');
console.log('wrote', dir);
