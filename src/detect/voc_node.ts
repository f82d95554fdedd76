/**
 * PASCAL VOC from a folder, in Node: a VocFiles reader over node:fs and the jpeg-js decoder.
 * (The format, letterboxing and dataset are browser-safe, in ./voc.)
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DataFormatError } from '../data/errors';
import { fsErrorCode, fsReason } from '../util/fs_errors';
import { decodeJpeg, type JpegDecodeOptions } from './jpeg';
import { MissingFileError, VocDataset, type ImageDecoder, type VocFiles, type VocOptions } from './voc';

/** Reads `root`/<rel>; a missing file is a MissingFileError, another failure a DataFormatError, each naming the path. */
export function vocFolderFiles(root: string): VocFiles {
  const full = (rel: string) => path.join(root, ...rel.split('/'));
  return {
    path: full,
    read(rel) {
      const file = full(rel);
      let buf: Buffer;
      try {
        buf = readFileSync(file);
      } catch (e) {
        const code = fsErrorCode(e);
        if (code === 'ENOENT' || code === 'ENOTDIR') throw new MissingFileError(file, 'does not exist');
        throw new DataFormatError(file, `cannot read: ${fsReason(e)}`);
      }
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    },
  };
}

export interface VocFolderOptions extends VocOptions {
  /** The decoder (default: jpeg-js, strict). */
  decode?: ImageDecoder;
  jpeg?: JpegDecodeOptions;
}

/** The VOC split `split` (ImageSets/Main/<split>.txt) of the folder `root` (e.g. VOCdevkit/VOC2007). */
export function loadVocFolder(root: string, split: string, options: VocFolderOptions): Promise<VocDataset> {
  const decode: ImageDecoder =
    options.decode ?? ((bytes, file, expected) => decodeJpeg(bytes, file, { ...options.jpeg, expected: options.jpeg?.expected ?? expected }));
  return VocDataset.open(vocFolderFiles(root), split, decode, options);
}
