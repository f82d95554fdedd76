/** Helpers for running the engine inside a page (they work in Node too). */
export { FrameLoop, makeYield, type FrameLoopOptions, type FrameStats } from './frame_loop.js';
export { TrainingSession, sessionSpec, type SessionOptions, type SessionTask, type SessionSpec, type MetricPoint, type StepRecord } from './session.js';
