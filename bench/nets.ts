/** The networks the benches run (SPEC §5): the Add-task network and the S-MNIST network. */
import type { ChainSpec } from '../src/model/spec.js';

export interface BenchNet {
  name: string;
  spec: ChainSpec;
  /** FPTT α for this task (SPEC §4). */
  alpha: number;
  optimizer: 'adam' | 'adamax';
}

/** Add task: LTC(H, recurrent, θ fixed 0.5) → Linear on u; input (value, marker). */
export function addTaskNet(H = 128, B = 128): BenchNet {
  return {
    name: `add (H=${H}, B=${B})`,
    spec: { batch: B, input: 2, layers: [{ size: H, adapt: false }], head: { kind: 'linear' }, neuron: { thetaFixed: 0.5 } },
    alpha: 0.5,
    optimizer: 'adam',
  };
}

/** S-MNIST: 1 → LTC(H) → LTC(H) → liquid readout(10). */
export function smnistNet(H = 256, B = 64): BenchNet {
  return {
    name: `smnist (2x${H}, B=${B})`,
    spec: { batch: B, input: 1, layers: [{ size: H }, { size: H }], head: { kind: 'readout', classes: 10 } },
    alpha: 0.1,
    optimizer: 'adamax',
  };
}
