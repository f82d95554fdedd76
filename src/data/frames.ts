/**
 * Events → frames. T bins, 2 polarity channels (channel = p: 0 OFF, 1 ON), each frame C×H×W
 * channel-major, optional spatial sum-pooling by an integer factor (H' = ⌈H/f⌉, W' = ⌈W/f⌉,
 * so no event is lost). Values are event counts.
 *
 * Binning:
 * - 'time': T equal time bins over the window [start, end) (default: first event's time to
 *   last event's time + 1 µs, so every event falls in a bin); bin = ⌊(t − start)·T/(end − start)⌋.
 *   Events outside the window are dropped.
 * - 'count': the events in the window, in time order (stable), split into T bins of equal
 *   count (bin = ⌊k·T/M⌋ for the k-th of M events; sizes differ by at most 1).
 *
 * `binEvents` keeps the result sparse (CSR: for each bin, the frame positions of its events),
 * so a frame is written in O(C·H'·W' + events in the bin) and memory is O(events).
 */
import type { Events } from './events';

export type BinMode = 'time' | 'count';

export interface FrameOptions {
  /** Number of frames T. */
  steps: number;
  /** Default 'time'. */
  mode?: BinMode;
  /** Spatial pooling factor (default 1). */
  pool?: number;
  /** Time window [start, end) in µs; see the file comment for the default. */
  window?: { start: number; end: number };
}

export interface EventBins {
  steps: number;
  /** Frame shape [2, H', W']. */
  shape: readonly [number, number, number];
  /** Values per frame = 2·H'·W'. */
  frameSize: number;
  /** Events of bin t are pixel[binStart[t] .. binStart[t+1]). */
  binStart: Uint32Array;
  /** Position in the frame (c·H'·W' + y'·W' + x') of each binned event, grouped by bin. */
  pixel: Uint32Array;
  /** Number of binned events (those in the window). */
  count: number;
  /** The window actually used. */
  window: { start: number; end: number };
}

export function pooledFrameShape(width: number, height: number, pool = 1): [number, number, number] {
  if (!Number.isInteger(pool) || pool < 1) throw new RangeError(`pool ${pool} must be a positive integer`);
  return [2, Math.ceil(height / pool), Math.ceil(width / pool)];
}

/** Bins events into T frames (sparse form). */
export function binEvents(ev: Events, options: FrameOptions): EventBins {
  const T = options.steps;
  if (!Number.isInteger(T) || T < 1) throw new RangeError(`binEvents: steps ${T} must be a positive integer`);
  const mode = options.mode ?? 'time';
  const pool = options.pool ?? 1;
  const shape = pooledFrameShape(ev.width, ev.height, pool);
  const [, hp, wp] = shape;
  const plane = hp * wp;
  const n = ev.x.length;

  let start: number;
  let end: number;
  if (options.window) {
    ({ start, end } = options.window);
    if (!(end > start)) throw new RangeError(`binEvents: window [${start}, ${end}) is empty`);
  } else {
    start = Infinity;
    end = -Infinity;
    for (let i = 0; i < n; i++) {
      const t = ev.t[i]!;
      if (t < start) start = t;
      if (t > end) end = t;
    }
    if (n === 0) {
      start = 0;
      end = 1;
    } else end = end + 1;
  }

  // Events in the window, in time order (stable).
  let sel: number[] = [];
  let sorted = true;
  let prev = -Infinity;
  for (let i = 0; i < n; i++) {
    const t = ev.t[i]!;
    if (t >= start && t < end) {
      if (t < prev) sorted = false;
      prev = t;
      sel.push(i);
    }
  }
  if (!sorted && mode === 'count') sel = sel.sort((a, b) => ev.t[a]! - ev.t[b]! || a - b);
  const m = sel.length;

  const bin = new Uint32Array(m);
  const counts = new Uint32Array(T + 1);
  const span = end - start;
  for (let k = 0; k < m; k++) {
    let b: number;
    if (mode === 'count') b = Math.floor((k * T) / m);
    else b = Math.min(T - 1, Math.floor(((ev.t[sel[k]!]! - start) * T) / span));
    bin[k] = b;
    counts[b + 1]!++;
  }
  const binStart = new Uint32Array(T + 1);
  for (let b = 0; b < T; b++) binStart[b + 1] = binStart[b]! + counts[b + 1]!;
  const fillPos = binStart.slice(0, T);
  const pixel = new Uint32Array(m);
  for (let k = 0; k < m; k++) {
    const i = sel[k]!;
    const pos = (ev.p[i]! & 1) * plane + Math.floor(ev.y[i]! / pool) * wp + Math.floor(ev.x[i]! / pool);
    pixel[fillPos[bin[k]!]!++] = pos;
  }
  return { steps: T, shape, frameSize: 2 * plane, binStart, pixel, count: m, window: { start, end } };
}

/** Writes frame t (counts) into out[offset .. offset+frameSize). */
export function fillFrame(bins: EventBins, t: number, out: Float32Array, offset = 0): void {
  if (!(t >= 0 && t < bins.steps)) throw new RangeError(`fillFrame: step ${t} outside 0..${bins.steps - 1}`);
  out.fill(0, offset, offset + bins.frameSize);
  const a = bins.binStart[t]!;
  const b = bins.binStart[t + 1]!;
  const px = bins.pixel;
  for (let k = a; k < b; k++) out[offset + px[k]!]! += 1;
}

/** All T frames, dense: T × 2 × H' × W' counts. */
export function eventsToFrames(ev: Events, options: FrameOptions): { frames: Float32Array; shape: readonly [number, number, number]; count: number } {
  const bins = binEvents(ev, options);
  const frames = new Float32Array(bins.steps * bins.frameSize);
  for (let t = 0; t < bins.steps; t++) fillFrame(bins, t, frames, t * bins.frameSize);
  return { frames, shape: bins.shape, count: bins.count };
}
