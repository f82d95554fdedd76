/**
 * Object detection, browser-safe: boxes and their overlaps, YOLO decoding, class-wise NMS, VOC
 * mAP, MNIST scenes, anchor assignment, and PASCAL VOC (annotations, letterboxing, the dataset over
 * any file reader, jpeg-js decoding and the browser's own decoder). `loadVocFolder` reads a folder
 * in Node; it loads ./voc_node (node:fs) only when called, so the browser bundle never does.
 */
export {
  boxArea,
  boxFromCenter,
  iou,
  giou,
  ciou,
  decodePredictions,
  decodeDetections,
  type Box,
  type Detection,
  type HeadScale,
  type DecodeOptions,
  type DetectionDecodeOptions,
  type Prediction,
} from './boxes.js';
export { nms, nmsBatch, type NmsOptions } from './nms.js';
export {
  averagePrecision,
  classPrCurve,
  meanAveragePrecision,
  meanAveragePrecisionRange,
  COCO_IOU_THRESHOLDS,
  type GroundTruth,
  type MapResult,
  type MapOptions,
  type MapRangeResult,
  type PrCurve,
} from './map.js';
export { MnistScenes, fillSceneBatch, sceneSeed, verifySceneSources, type Scene, type SceneDigit, type TruthBox, type MnistScenesOptions } from './scenes.js';
export { SceneBatch, SceneBatchSource, sceneBatch, type SceneSourceState } from './scene_source.js';
export { yoloAssignRef, anchorShapeIoU, type YoloGtBox, type YoloScale, type YoloTarget, type YoloAssignment } from './assign.js';
export {
  VOC_CLASSES,
  MissingFileError,
  VocDataset,
  parseVocAnnotation,
  parseImageSetList,
  letterboxGeometry,
  letterboxBox,
  letterboxImage,
  browserImageDecoder,
  fetchVocFiles,
  type DecodedImage,
  type ImageDecoder,
  type VocFiles,
  type VocObject,
  type VocAnnotation,
  type VocAnnotationOptions,
  type Letterbox,
  type LetterboxOptions,
  type VocOptions,
  type VocSample,
} from './voc.js';
export { decodeJpeg, jpegFrameSize, type JpegDecodeOptions } from './jpeg.js';
export type { VocFolderOptions } from './voc_node.js';

import type { VocDataset as VocDatasetT } from './voc.js';
import type { VocFolderOptions } from './voc_node.js';

/** The VOC split `split` of the folder `root` (e.g. VOCdevkit/VOC2007), decoded by jpeg-js. Node only. */
export async function loadVocFolder(root: string, split: string, options: VocFolderOptions): Promise<VocDatasetT> {
  const m = await import('./voc_node.js');
  return m.loadVocFolder(root, split, options);
}
