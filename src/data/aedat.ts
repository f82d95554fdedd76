/**
 * AEDAT event files: 3.1 (DVS Gesture) and 2.0 (jAER DVS128 recordings, e.g. CIFAR10-DVS),
 * plus the DVS Gesture labels CSV.
 *
 * AEDAT 3.1: ASCII header lines starting with `#`, the first `#!AER-DAT3.1`, the last
 * `#!END-HEADER` (each ending in \r\n). Then packets, each a 28-byte little-endian header —
 * int16 eventType, int16 eventSource, int32 eventSize, int32 eventTSOffset, int32
 * eventTSOverflow, int32 eventCapacity, int32 eventNumber, int32 eventValid — followed by
 * eventCapacity × eventSize bytes of events. Polarity events (type 1) are 8 bytes: uint32 data,
 * int32 timestamp (µs); x = (d >> 17) & 0x1FFF, y = (d >> 2) & 0x1FFF, p = (d >> 1) & 1,
 * valid = d & 1; full time = eventTSOverflow · 2^31 + timestamp. Only the first eventNumber
 * events of a packet are read, and only those with the valid bit set are kept; other packet
 * types are skipped.
 *
 * AEDAT 2.0: header lines starting with `#` (the first `#!AER-DAT2.0`), then 8-byte big-endian
 * events: uint32 address, uint32 timestamp (µs). DVS128 addresses, checked against jAER's
 * `DVS128.Extractor` (XMASK 0xFE >> 1, YMASK 0x7F00 >> 8, setFlipx(true), setFliptype(true)):
 *   x = 127 − ((a >> 1) & 0x7F),  y = (a >> 8) & 0x7F,  ON (p = 1) when (a & 1) == 0.
 * The raw bit a & 1 is 1 for OFF events: jAER and dat2mat.m flip it, as spikingjelly does with
 * `1 - p`; orientation 'raw' keeps it unflipped. Addresses with bit 15 (sync / external
 * input) or bit 31 (special event) set are skipped; any other bit above 14 is a format error
 * (it is not a DVS128 address).
 */
import { bytesToText, readLine, u32be, viewOf } from './bytes';
import { DataFormatError, preview } from './errors';
import { DVS128_SENSOR, emptyEvents, sliceEventsByTime, type Events, type SensorSize } from './events';

export interface AedatHeader {
  /** e.g. '2.0', '3.1'. */
  version: string;
  /** Header lines without their line ends. */
  lines: string[];
  /** Offset of the first data byte. */
  dataStart: number;
}

const MAX_HEADER_LINE = 1 << 16;

/** Reads the `#` header lines. AEDAT 3.x ends at `#!END-HEADER`; 2.0 at the first non-`#` byte. */
export function parseAedatHeader(bytes: Uint8Array, fileName: string): AedatHeader {
  const first = readLine(bytes, 0, MAX_HEADER_LINE);
  if (!first || !first.text.startsWith('#!AER-DAT')) {
    const found = first ? first.text : String.fromCharCode(...bytes.subarray(0, 16));
    throw new DataFormatError(fileName, `expected an AEDAT header starting with '#!AER-DAT', found ${preview(found)}`);
  }
  const version = first.text.slice('#!AER-DAT'.length).trim();
  const lines = [first.text];
  let pos = first.end;
  const v3 = version.startsWith('3');
  for (;;) {
    if (!v3 && (pos >= bytes.length || bytes[pos] !== 0x23)) return { version, lines, dataStart: pos };
    if (pos >= bytes.length) {
      throw new DataFormatError(fileName, `AEDAT ${version} header has no '#!END-HEADER' line (file ends at byte ${bytes.length})`);
    }
    const line = readLine(bytes, pos, MAX_HEADER_LINE);
    if (!line) {
      throw new DataFormatError(fileName, `header line at byte ${pos} has no line end (expected '\\r\\n' within ${MAX_HEADER_LINE} bytes)`);
    }
    if (v3 && !line.text.startsWith('#')) {
      throw new DataFormatError(fileName, `header line at byte ${pos} does not start with '#' and no '#!END-HEADER' came before it, found ${preview(line.text)}`);
    }
    lines.push(line.text);
    pos = line.end;
    if (v3 && line.text.trim() === '#!END-HEADER') return { version, lines, dataStart: pos };
  }
}

export interface AedatOptions {
  /** Sensor size (default 128×128). */
  sensor?: SensorSize;
}

const PACKET_HEADER = 28;
const POLARITY_EVENT = 1;

/** Parses an AEDAT 3.x file, keeping the valid polarity events. */
export function parseAedat31(bytes: Uint8Array, fileName: string, options: AedatOptions = {}): Events {
  const { width, height } = options.sensor ?? DVS128_SENSOR;
  const header = parseAedatHeader(bytes, fileName);
  if (!header.version.startsWith('3')) {
    throw new DataFormatError(fileName, `expected AEDAT version 3.x, found '#!AER-DAT${header.version}'`);
  }
  const view = viewOf(bytes);
  const scan = (fill: Events | null): number => {
    let pos = header.dataStart;
    let packet = 0;
    let k = 0;
    while (pos < bytes.length) {
      if (pos + PACKET_HEADER > bytes.length) {
        throw new DataFormatError(fileName, `packet ${packet} at byte ${pos}: truncated header, expected ${PACKET_HEADER} bytes, ${bytes.length - pos} remain`);
      }
      const type = view.getInt16(pos, true);
      const size = view.getInt32(pos + 4, true);
      const tsOffset = view.getInt32(pos + 8, true);
      const tsOverflow = view.getInt32(pos + 12, true);
      const capacity = view.getInt32(pos + 16, true);
      const number = view.getInt32(pos + 20, true);
      const valid = view.getInt32(pos + 24, true);
      const where = `packet ${packet} at byte ${pos}`;
      if (size < 1 || capacity < 0 || number < 0 || number > capacity || valid < 0 || valid > number || tsOverflow < 0) {
        throw new DataFormatError(
          fileName,
          `${where}: inconsistent header (eventSize ${size}, capacity ${capacity}, number ${number}, valid ${valid}, tsOverflow ${tsOverflow}); expected eventSize ≥ 1 and 0 ≤ valid ≤ number ≤ capacity`,
        );
      }
      const dataBytes = capacity * size;
      const start = pos + PACKET_HEADER;
      if (dataBytes > bytes.length - start) {
        throw new DataFormatError(
          fileName,
          `${where}: declares ${capacity} events of ${size} bytes (${dataBytes} bytes) but only ${bytes.length - start} bytes remain in the file`,
        );
      }
      if (type === POLARITY_EVENT) {
        if (size !== 8 || tsOffset !== 4) {
          throw new DataFormatError(fileName, `${where}: polarity packet with eventSize ${size}, eventTSOffset ${tsOffset}; expected 8 and 4`);
        }
        const base = tsOverflow * 2147483648;
        for (let i = 0; i < number; i++) {
          const o = start + 8 * i;
          const d = view.getUint32(o, true);
          if ((d & 1) === 0) continue;
          const x = (d >>> 17) & 0x1fff;
          const y = (d >>> 2) & 0x1fff;
          if (x >= width || y >= height) {
            throw new DataFormatError(
              fileName,
              `${where}, event ${i}: x=${x}, y=${y} outside the ${width}×${height} sensor (expected x < ${width}, y < ${height})`,
            );
          }
          if (fill) {
            fill.x[k] = x;
            fill.y[k] = y;
            fill.p[k] = (d >>> 1) & 1;
            fill.t[k] = base + (view.getUint32(o + 4, true) & 0x7fffffff);
          }
          k++;
        }
      }
      pos = start + dataBytes;
      packet++;
    }
    return k;
  };
  const n = scan(null);
  const ev = emptyEvents({ width, height }, n);
  scan(ev);
  return ev;
}

/** How AEDAT 2.0 DVS128 addresses map to (x, y, p); see the file comment. */
export type Dvs128Orientation = 'jaer' | 'raw' | 'spikingjelly';

export interface Aedat2Options extends AedatOptions {
  /**
   * 'jaer' (default, = jAER DVS128 and dat2mat.m): x = 127 − xr, y = yr, p = 1 − (a & 1).
   * 'raw': x = xr, y = yr, p = a & 1 (no flips).
   * 'spikingjelly' (its CIFAR10-DVS loader, a transposed view): x = 127 − yr, y = 127 − xr, p = 1 − (a & 1).
   * Here xr = (a >> 1) & 0x7F, yr = (a >> 8) & 0x7F.
   */
  orientation?: Dvs128Orientation;
}

const DVS128_SPECIAL = 0x80008000;
const DVS128_ADDRESS_BITS = 0x7fff;

/** Parses an AEDAT 2.0 file of DVS128 events (big-endian address, timestamp pairs). */
export function parseAedat2(bytes: Uint8Array, fileName: string, options: Aedat2Options = {}): Events {
  const sensor = options.sensor ?? DVS128_SENSOR;
  const orientation = options.orientation ?? 'jaer';
  if (sensor.width < 128 || sensor.height < 128) {
    throw new RangeError(`parseAedat2: DVS128 addresses need a sensor of at least 128×128, got ${sensor.width}×${sensor.height}`);
  }
  const header = parseAedatHeader(bytes, fileName);
  if (header.version !== '2.0') {
    throw new DataFormatError(fileName, `expected '#!AER-DAT2.0', found '#!AER-DAT${header.version}'`);
  }
  const start = header.dataStart;
  const dataBytes = bytes.length - start;
  if (dataBytes % 8 !== 0) {
    throw new DataFormatError(
      fileName,
      `data section of ${dataBytes} bytes (from byte ${start}) is not a multiple of 8 (address + timestamp per event); truncated?`,
    );
  }
  const total = dataBytes / 8;
  let n = 0;
  for (let i = 0; i < total; i++) {
    const a = u32be(bytes, start + 8 * i);
    if (a & DVS128_SPECIAL) continue;
    if ((a & ~DVS128_SPECIAL & ~DVS128_ADDRESS_BITS) !== 0) {
      throw new DataFormatError(
        fileName,
        `event ${i} (byte ${start + 8 * i}) has address 0x${a.toString(16)} with bits above 15 set; expected a DVS128 address (≤ 0x7fff, or a special event)`,
      );
    }
    n++;
  }
  const ev = emptyEvents(sensor, n);
  let k = 0;
  for (let i = 0; i < total; i++) {
    const o = start + 8 * i;
    const a = u32be(bytes, o);
    if (a & DVS128_SPECIAL) continue;
    const xr = (a >>> 1) & 0x7f;
    const yr = (a >>> 8) & 0x7f;
    const raw = a & 1;
    if (orientation === 'raw') {
      ev.x[k] = xr;
      ev.y[k] = yr;
      ev.p[k] = raw;
    } else if (orientation === 'jaer') {
      ev.x[k] = 127 - xr;
      ev.y[k] = yr;
      ev.p[k] = 1 - raw;
    } else {
      ev.x[k] = 127 - yr;
      ev.y[k] = 127 - xr;
      ev.p[k] = 1 - raw;
    }
    ev.t[k] = u32be(bytes, o + 4);
    k++;
  }
  return ev;
}

/** Parses AEDAT 2.0 or 3.x, chosen by the `#!AER-DATx.y` first line. */
export function parseAedat(bytes: Uint8Array, fileName: string, options: Aedat2Options = {}): Events {
  const header = parseAedatHeader(bytes, fileName);
  if (header.version === '2.0') return parseAedat2(bytes, fileName, options);
  if (header.version.startsWith('3')) return parseAedat31(bytes, fileName, options);
  throw new DataFormatError(fileName, `AEDAT version ${preview(header.version)} is not supported (expected 2.0 or 3.1)`);
}

/** One labelled segment of a DVS Gesture recording. */
export interface LabelSegment {
  /** 0-based class (the CSV's class − 1). */
  label: number;
  /** Start time in µs (inclusive). */
  start: number;
  /** End time in µs (exclusive). */
  end: number;
}

/**
 * Parses a DVS Gesture `<trial>_labels.csv`: header `class,startTime_usec,endTime_usec`, then
 * one segment per line with class 1..classes (returned as 0..classes-1) and start < end.
 */
export function parseGestureLabelsCsv(content: Uint8Array | string, fileName: string, classes = 11): LabelSegment[] {
  const lines = bytesToText(content).split(/\r?\n/);
  const head = (lines[0] ?? '').replace(/^\ufeff/, '').trim().toLowerCase().replace(/\s+/g, '');
  if (head !== 'class,starttime_usec,endtime_usec') {
    throw new DataFormatError(fileName, `expected the header 'class,startTime_usec,endTime_usec', found ${preview(lines[0] ?? '')}`);
  }
  const out: LabelSegment[] = [];
  for (let i = 1; i < lines.length; i++) {
    const s = lines[i]!.trim();
    if (s === '') continue;
    const parts = s.split(',').map((v) => v.trim());
    const [c, a, b] = parts.map(Number) as [number, number, number];
    if (parts.length !== 3 || !Number.isInteger(c) || c < 1 || c > classes || !Number.isFinite(a) || !Number.isFinite(b) || a < 0 || b <= a) {
      throw new DataFormatError(
        fileName,
        `line ${i + 1}: expected '<class 1..${classes}>,<start µs>,<end µs>' with start < end, found ${preview(s, 60)}`,
      );
    }
    out.push({ label: c - 1, start: a, end: b });
  }
  return out;
}

/** One sample per labelled segment: the events with start ≤ t < end. */
export function segmentEvents(ev: Events, segments: readonly LabelSegment[]): { events: Events; label: number; start: number; end: number }[] {
  return segments.map((s) => ({ events: sliceEventsByTime(ev, s.start, s.end), label: s.label, start: s.start, end: s.end }));
}
