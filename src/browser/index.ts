/** Helpers for driving the engine from a page or another program (they work in Node too). */
export { FrameLoop, makeYield, type FrameLoopOptions, type FrameStats } from './frame_loop.js';
export { TrainingSession, sessionSpec, type SessionOptions, type SessionTask, type SessionSpec, type MetricPoint, type StepRecord } from './session.js';
export { OnlineLearner, type OnlineLearnerOptions, type WindowTargets } from './online.js';
