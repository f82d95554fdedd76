/**
 * Writers for the VOC tests: JPEG bytes from a pixel function (jpeg-js's encoder), annotation XML
 * from a plain description, and a VOC-layout folder in a temporary directory.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { encode } from 'jpeg-js';

export type Rgb = readonly [number, number, number];

/** A JPEG (quality 100) of w × h pixels coloured by `pixel(x, y)`. */
export function jpegOf(w: number, h: number, pixel: (x: number, y: number) => Rgb): Uint8Array {
  const data = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const [r, g, b] = pixel(x, y);
      data.set([r, g, b, 255], (y * w + x) * 4);
    }
  }
  const out = encode({ width: w, height: h, data }, 100).data;
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

export interface XmlObject {
  name: string;
  /** 1-based inclusive VOC pixels. */
  box: readonly [number, number, number, number];
  /** undefined: no <difficult> element. */
  difficult?: 0 | 1;
  /** A <part> (VOC person layout) with its own <name> and <bndbox>, which are not the object's. */
  part?: readonly [number, number, number, number];
}

/** Annotation XML in VOC's own style (declaration, folder, source, pose, truncated, a part). */
export function vocXml(id: string, w: number, h: number, objects: readonly XmlObject[], extra = ''): string {
  const objs = objects
    .map(
      (o) => `\t<object>
\t\t<name>${o.name}</name>
\t\t<pose>Unspecified</pose>
\t\t<truncated>0</truncated>${o.difficult === undefined ? '' : `\n\t\t<difficult>${o.difficult}</difficult>`}
\t\t<bndbox>
\t\t\t<xmin>${o.box[0]}</xmin>
\t\t\t<ymin>${o.box[1]}</ymin>
\t\t\t<xmax>${o.box[2]}</xmax>
\t\t\t<ymax>${o.box[3]}</ymax>
\t\t</bndbox>${
        o.part
          ? `\n\t\t<part><name>head</name><bndbox><xmin>${o.part[0]}</xmin><ymin>${o.part[1]}</ymin><xmax>${o.part[2]}</xmax><ymax>${o.part[3]}</ymax></bndbox></part>`
          : ''
      }
\t</object>`,
    )
    .join('\n');
  return `<?xml version="1.0" encoding="utf-8"?>
<annotation verified="no">
\t<folder>VOC2007</folder>
\t<filename>${id}.jpg</filename>
\t<source><database>The VOC2007 Database &amp; tests</database></source>
\t<size>
\t\t<width>${w}</width>
\t\t<height>${h}</height>
\t\t<depth>3</depth>
\t</size>
\t<segmented>0</segmented>
${objs}${extra}
</annotation>`;
}

export interface VocEntry {
  id: string;
  xml?: string;
  jpeg?: Uint8Array;
}

/** Writes a VOC folder: Annotations/, JPEGImages/, ImageSets/Main/<split>.txt for each split. */
export function writeVocFolder(entries: readonly VocEntry[], splits: Record<string, string>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'voc-test-'));
  for (const d of ['Annotations', 'JPEGImages', 'ImageSets/Main']) mkdirSync(path.join(root, d), { recursive: true });
  for (const e of entries) {
    if (e.xml !== undefined) writeFileSync(path.join(root, 'Annotations', `${e.id}.xml`), e.xml);
    if (e.jpeg !== undefined) writeFileSync(path.join(root, 'JPEGImages', `${e.id}.jpg`), e.jpeg);
  }
  for (const [name, text] of Object.entries(splits)) writeFileSync(path.join(root, 'ImageSets/Main', `${name}.txt`), text);
  return root;
}

export const RED: Rgb = [255, 0, 0];
export const BLUE: Rgb = [0, 0, 255];
export const GREEN: Rgb = [0, 255, 0];
export const WHITE: Rgb = [255, 255, 255];

/** Image 'a': 48 × 32, left half red, right half blue. */
export const jpegA = (): Uint8Array => jpegOf(48, 32, (x) => (x < 24 ? RED : BLUE));
/** Image 'b': 30 × 50, top half green, bottom half white. */
export const jpegB = (): Uint8Array => jpegOf(30, 50, (_x, y) => (y < 25 ? GREEN : WHITE));
/** Image 'c': 40 × 40, a grey ramp. */
export const jpegC = (): Uint8Array => jpegOf(40, 40, (x, y) => {
  const v = Math.round(((x + y) / 78) * 255);
  return [v, v, v];
});

export const xmlA = (): string =>
  vocXml('a', 48, 32, [
    { name: 'person', box: [1, 1, 24, 32], difficult: 0 },
    { name: 'car', box: [25, 5, 48, 20], difficult: 1 },
  ]);
export const xmlB = (): string =>
  vocXml(
    'b',
    30,
    50,
    [{ name: 'dog', box: [3, 4, 20, 40], part: [4, 5, 9, 9] }],
    // a comment, CDATA and entities
    `\n\t<!-- a comment with <tags> -->\n\t<owner><name><![CDATA[Flickr <user>]]></name></owner>\n\t<note>&lt;b&gt; &#65;&#x42;</note>`,
  );
export const xmlC = (): string =>
  vocXml('c', 40, 40, [
    { name: 'tvmonitor', box: [5, 5, 15, 15], difficult: 1 },
    { name: 'aeroplane', box: [20, 10, 40, 40], difficult: 0 },
  ]);
