/**
 * The data layer, browser-safe (no Node imports). File access for Node is in ./node.
 */
export { DataFormatError } from './errors';
export { isGzip, gunzipAsync, maybeGunzipAsync, bytesToText } from './bytes';
export { parseIdx, imageSetFromIdx, encodeIdx, type IdxArray, type IdxKind, type ImageSet } from './idx';
export {
  SequenceBatcher,
  SubsetDataset,
  trainHeldOutSplit,
  rngStateToJson,
  rngStateFromJson,
  type SequenceDataset,
  type Batch,
  type BatchSource,
  type BatchSourceState,
  type BatcherOptions,
  type BatcherState,
  type SplitOptions,
} from './dataset';
export {
  SequentialImageDataset,
  RowImageDataset,
  StaticImageDataset,
  sequentialMnist,
  permutedSequentialMnist,
  rowMnist,
  staticImages,
  pixelPermutation,
  pixelIntensity,
} from './image_sequences';
export { AddTask, AddTaskBatch, addTaskValue, type AddTaskOptions, type AddTaskState } from './add_task';
export {
  parseBinEvents,
  encodeBinEvents,
  validateEvents,
  sliceEventsByTime,
  emptyEvents,
  eventCount,
  parseSampleLabelList,
  NMNIST_SENSOR,
  DVS128_SENSOR,
  NMNIST_OVERFLOW_Y,
  NMNIST_OVERFLOW_INCREMENT,
  type Events,
  type SensorSize,
  type BinEventsOptions,
  type SampleLabel,
} from './events';
export {
  parseAedat,
  parseAedat2,
  parseAedat31,
  parseAedatHeader,
  parseGestureLabelsCsv,
  segmentEvents,
  type AedatHeader,
  type AedatOptions,
  type Aedat2Options,
  type Dvs128Orientation,
  type LabelSegment,
} from './aedat';
export { binEvents, fillFrame, eventsToFrames, pooledFrameShape, type BinMode, type FrameOptions, type EventBins } from './frames';
export { EventFrameDataset, LruCache, type EventSample, type EventFrameOptions } from './event_dataset';
