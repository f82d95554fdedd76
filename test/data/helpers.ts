/**
 * Shared helpers for the data-layer tests: where the real data lives, and writers for
 * AEDAT 3.1 / 2.0 / labels-CSV bytes built independently of the parsers under test.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The real data folder; throws (so the test FAILS, not skips) when it does not exist. */
export function dataDir(): string {
  const dir = process.env.SNN_DATA_DIR ?? path.resolve(REPO_ROOT, '../shared/data');
  if (!existsSync(dir)) {
    throw new Error(`SNN_DATA_DIR not found: ${dir} does not exist. Set SNN_DATA_DIR to the shared/data folder.`);
  }
  return dir;
}

export interface RawEvent {
  x: number;
  y: number;
  p: number;
  /** Full timestamp, µs. */
  t: number;
  valid?: boolean;
}

function ascii(s: string): number[] {
  return Array.from(s, (c) => c.charCodeAt(0));
}

export const AEDAT31_HEADER = [
  '#!AER-DAT3.1',
  '#Format: RAW',
  '#Source 1: DVS128',
  '#Start-Time: 2017-01-01 12:00:00 (TZ+0000)',
  '#!END-HEADER',
];

export interface Packet31 {
  type: number;
  events: RawEvent[];
  tsOverflow: number;
  /** Extra unused slots after the events (capacity > number), filled with `fill`. */
  spare?: number;
  fill?: number;
}

/**
 * AEDAT 3.1 bytes: `#` header lines with \r\n, then per packet a 28-byte little-endian header
 * (type, source, size, tsOffset, tsOverflow, capacity, number, valid) and 8-byte events
 * (data = x<<17 | y<<2 | p<<1 | valid, then the low 31 bits of the timestamp).
 */
export function buildAedat31(packets: Packet31[], header = AEDAT31_HEADER): Uint8Array {
  const head = ascii(header.map((l) => l + '\r\n').join(''));
  const body: number[] = [];
  for (const pk of packets) {
    const spare = pk.spare ?? 0;
    const buf = new DataView(new ArrayBuffer(28 + 8 * (pk.events.length + spare)));
    const validCount = pk.events.filter((e) => e.valid !== false).length;
    buf.setInt16(0, pk.type, true);
    buf.setInt16(2, 1, true);
    buf.setInt32(4, 8, true);
    buf.setInt32(8, 4, true);
    buf.setInt32(12, pk.tsOverflow, true);
    buf.setInt32(16, pk.events.length + spare, true);
    buf.setInt32(20, pk.events.length, true);
    buf.setInt32(24, validCount, true);
    pk.events.forEach((e, i) => {
      const d = ((e.x << 17) | (e.y << 2) | (e.p << 1) | (e.valid === false ? 0 : 1)) >>> 0;
      buf.setUint32(28 + 8 * i, d, true);
      buf.setUint32(28 + 8 * i + 4, e.t % 2 ** 31, true);
    });
    for (let i = 0; i < spare; i++) {
      buf.setUint32(28 + 8 * (pk.events.length + i), pk.fill ?? 0xffffffff, true);
      buf.setUint32(28 + 8 * (pk.events.length + i) + 4, 0, true);
    }
    body.push(...new Uint8Array(buf.buffer));
  }
  return new Uint8Array([...head, ...body]);
}

export const AEDAT2_HEADER = [
  '#!AER-DAT2.0',
  '# This is a raw AE data file - do not edit',
  '# Data format is int32 address, int32 timestamp (8 bytes total), repeated for each event',
  '# Timestamps tick is 1 us',
];

/** AEDAT 2.0 bytes: header lines, then big-endian (address, timestamp) pairs. */
export function buildAedat2(pairs: { addr: number; t: number }[], header = AEDAT2_HEADER): Uint8Array {
  const head = ascii(header.map((l) => l + '\r\n').join(''));
  const buf = new DataView(new ArrayBuffer(8 * pairs.length));
  pairs.forEach((e, i) => {
    buf.setUint32(8 * i, e.addr >>> 0, false);
    buf.setUint32(8 * i + 4, e.t >>> 0, false);
  });
  return new Uint8Array([...head, ...new Uint8Array(buf.buffer)]);
}

/** jAER DVS128 address for an event (x, y, p) in jAER orientation (x flipped, ON = raw bit 0). */
export function dvs128Address(x: number, y: number, p: number): number {
  return ((127 - x) << 1) | (y << 8) | (1 - p);
}

export function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}
