/**
 * The node kinds: one entry per kind (its fields, shape rule, parameters, initialisation and
 * state). The CPU reference of each kind is registered in src/ref/graph_kinds.ts and its GPU node
 * in src/model/nodes/index.ts. README "Adding a layer" says what a new kind needs.
 */
import type { NodeKind } from '../spec.js';
import { addKind } from './add.js';
import { concatKind } from './concat.js';
import { convKind } from './conv.js';
import { convHeadKind } from './conv_head.js';
import { denseKind } from './dense.js';
import { detectKind } from './detect.js';
import { linearKind } from './linear.js';
import { poolKind } from './pool.js';
import { readoutKind } from './readout.js';
import { splitKind } from './split.js';
import { upsampleKind } from './upsample.js';

export const NODE_KINDS: ReadonlyMap<string, NodeKind<any>> = new Map(
  [denseKind, convKind, poolKind, addKind, concatKind, upsampleKind, splitKind, readoutKind, linearKind, convHeadKind, detectKind].map((k) => [k.kind, k as NodeKind<any>]),
);

export { addKind, concatKind, convKind, convHeadKind, denseKind, detectKind, linearKind, poolKind, readoutKind, splitKind, upsampleKind };
export type { AddConfig } from './add.js';
export type { ConcatConfig } from './concat.js';
export type { ConvHeadConfig } from './conv_head.js';
export type { DetectHeadConfig } from './detect.js';
export type { LinearNodeConfig } from './linear.js';
export type { ReadoutNodeConfig } from './readout.js';
export type { SplitConfig } from './split.js';
export type { UpsampleConfig } from './upsample.js';
