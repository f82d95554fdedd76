/**
 * Event streams (struct of arrays) and the N-MNIST `.bin` / SLAYER `.bs2` format.
 *
 * `.bin` / `.bs2`: 5 bytes per event, big-endian: byte0 = x, byte1 = y, byte2 bit 7 =
 * polarity (1 = ON), timestamp (µs) = ((byte2 & 0x7F) << 16) | (byte3 << 8) | byte4.
 * Original N-MNIST files may hold timestamp-overflow markers, events with y == 240: like
 * tonic (and Orchard's Read_Ndataset.m) the marker is dropped and 2^13 is added to the
 * timestamps of all later events.
 */
import { bytesToText } from './bytes';
import { DataFormatError } from './errors';

export interface Events {
  x: Uint16Array;
  y: Uint16Array;
  /** Polarity: 1 = ON (brighter), 0 = OFF. It is the channel index in frames. */
  p: Uint8Array;
  /** Timestamps in µs (float64 so AEDAT overflow-extended times stay exact). */
  t: Float64Array;
  width: number;
  height: number;
}

export interface SensorSize {
  width: number;
  height: number;
}

export const NMNIST_SENSOR: SensorSize = { width: 34, height: 34 };
export const DVS128_SENSOR: SensorSize = { width: 128, height: 128 };

export function eventCount(ev: Events): number {
  return ev.x.length;
}

export function emptyEvents(sensor: SensorSize, n = 0): Events {
  return {
    x: new Uint16Array(n),
    y: new Uint16Array(n),
    p: new Uint8Array(n),
    t: new Float64Array(n),
    width: sensor.width,
    height: sensor.height,
  };
}

/** Throws DataFormatError when arrays differ in length or an event lies outside the sensor. */
export function validateEvents(ev: Events, fileName: string): void {
  const n = ev.x.length;
  if (ev.y.length !== n || ev.p.length !== n || ev.t.length !== n) {
    throw new DataFormatError(fileName, `event arrays differ in length (x ${n}, y ${ev.y.length}, p ${ev.p.length}, t ${ev.t.length})`);
  }
  for (let i = 0; i < n; i++) {
    if (ev.x[i]! >= ev.width || ev.y[i]! >= ev.height || ev.p[i]! > 1 || !Number.isFinite(ev.t[i]!)) {
      throw new DataFormatError(
        fileName,
        `event ${i} has x=${ev.x[i]}, y=${ev.y[i]}, p=${ev.p[i]}, t=${ev.t[i]}; expected x < ${ev.width}, y < ${ev.height}, p ∈ {0,1}, finite t`,
      );
    }
  }
}

export interface BinEventsOptions {
  /** Sensor size (default 34×34, N-MNIST); DVS128 recordings (SLAYER bs2) are 128×128. */
  sensor?: SensorSize;
  /** Treat y == 240 as a timestamp-overflow marker (default true, as tonic does). */
  overflowMarkers?: boolean;
}

/** Byte value of y that marks a timestamp overflow in N-MNIST `.bin` files. */
export const NMNIST_OVERFLOW_Y = 240;
/** What tonic / Read_Ndataset.m add to later timestamps after an overflow marker. */
export const NMNIST_OVERFLOW_INCREMENT = 1 << 13;

/** Parses N-MNIST `.bin` / SLAYER `.bs2` bytes (5 bytes per event). */
export function parseBinEvents(bytes: Uint8Array, fileName: string, options: BinEventsOptions = {}): Events {
  const { width, height } = options.sensor ?? NMNIST_SENSOR;
  const markers = options.overflowMarkers ?? true;
  if (bytes.length % 5 !== 0) {
    throw new DataFormatError(
      fileName,
      `expected a multiple of 5 bytes (5 per event), found ${bytes.length} bytes (${Math.floor(bytes.length / 5)} events + ${bytes.length % 5} extra)`,
    );
  }
  const total = bytes.length / 5;
  let n = 0;
  if (markers) {
    for (let i = 0; i < total; i++) if (bytes[5 * i + 1] !== NMNIST_OVERFLOW_Y) n++;
  } else n = total;
  const ev = emptyEvents({ width, height }, n);
  let k = 0;
  let offset = 0;
  for (let i = 0; i < total; i++) {
    const o = 5 * i;
    const x = bytes[o]!;
    const y = bytes[o + 1]!;
    const b2 = bytes[o + 2]!;
    if (markers && y === NMNIST_OVERFLOW_Y) {
      offset += NMNIST_OVERFLOW_INCREMENT;
      continue;
    }
    if (x >= width || y >= height) {
      throw new DataFormatError(
        fileName,
        `event ${i} (byte ${o}) has x=${x}, y=${y}, outside the ${width}×${height} sensor (expected x < ${width}, y < ${height})`,
      );
    }
    ev.x[k] = x;
    ev.y[k] = y;
    ev.p[k] = b2 >> 7;
    ev.t[k] = (((b2 & 0x7f) << 16) | (bytes[o + 3]! << 8) | bytes[o + 4]!) + offset;
    k++;
  }
  return ev;
}

/** Encodes events in the 5-byte `.bin` / `.bs2` layout (x, y < 256, t < 2^23 µs). */
export function encodeBinEvents(ev: Events): Uint8Array {
  const n = ev.x.length;
  const out = new Uint8Array(5 * n);
  for (let i = 0; i < n; i++) {
    const t = ev.t[i]!;
    if (ev.x[i]! > 255 || ev.y[i]! > 255 || t < 0 || t >= 1 << 23 || !Number.isInteger(t)) {
      throw new RangeError(`encodeBinEvents: event ${i} does not fit the 5-byte layout`);
    }
    out[5 * i] = ev.x[i]!;
    out[5 * i + 1] = ev.y[i]!;
    out[5 * i + 2] = ((ev.p[i]! & 1) << 7) | (t >>> 16);
    out[5 * i + 3] = (t >>> 8) & 0xff;
    out[5 * i + 4] = t & 0xff;
  }
  return out;
}

/** Events with start ≤ t < end (copies; keeps order). */
export function sliceEventsByTime(ev: Events, start: number, end: number): Events {
  const n = ev.x.length;
  let m = 0;
  for (let i = 0; i < n; i++) if (ev.t[i]! >= start && ev.t[i]! < end) m++;
  const out = emptyEvents(ev, m);
  let k = 0;
  for (let i = 0; i < n; i++) {
    const t = ev.t[i]!;
    if (t >= start && t < end) {
      out.x[k] = ev.x[i]!;
      out.y[k] = ev.y[i]!;
      out.p[k] = ev.p[i]!;
      out.t[k] = t;
      k++;
    }
  }
  return out;
}

export interface SampleLabel {
  /** Sample id (for SLAYER N-MNIST, the 1-based MNIST index and the file name `<id>.bs2`). */
  id: number;
  label: number;
}

/**
 * Parses a `#sample #class` list (SLAYER's train1K.txt / test100.txt): lines starting with `#`
 * and blank lines are skipped, every other line is two integers separated by whitespace.
 */
export function parseSampleLabelList(content: Uint8Array | string, fileName: string, classes = 10): SampleLabel[] {
  const lines = bytesToText(content).split(/\r?\n/);
  const out: SampleLabel[] = [];
  lines.forEach((line, i) => {
    const s = line.trim();
    if (s === '' || s.startsWith('#')) return;
    const parts = s.split(/[\s,]+/);
    const id = Number(parts[0]);
    const label = Number(parts[1]);
    if (parts.length !== 2 || !Number.isInteger(id) || id < 0 || !Number.isInteger(label) || label < 0 || label >= classes) {
      throw new DataFormatError(fileName, `line ${i + 1}: expected "<sample id> <class 0..${classes - 1}>", found ${JSON.stringify(s.slice(0, 60))}`);
    }
    out.push({ id, label });
  });
  return out;
}
