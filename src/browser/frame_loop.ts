/**
 * A cooperative loop for training inside a page (or any event loop) without long frames.
 *
 * Each turn runs `work()` repeatedly until `budgetMs` of main-thread time is spent (the work only
 * encodes and submits GPU commands; it never reads back), then waits for the GPU to finish the
 * previous turn's work (`queue.onSubmittedWorkDone`, so at most two turns of commands are ever in
 * flight instead of an unbounded pile of submits) and yields to the event loop, so input events and
 * rendering run between turns. Works in Node too (the yield is then a macrotask).
 *
 * When the GPU is slower than the encoding (a software adapter), a turn's 12 ms of encoding can
 * hold far more than a frame of GPU work, and the browser then blocks the main thread on the GPU
 * process inside submit/writeBuffer. So the units per turn are also capped, adaptively: the cap
 * shrinks when the wait for the previous turn's GPU work is longer than the budget, and grows
 * while the GPU keeps up.
 *
 *   const loop = new FrameLoop(engine.device.queue, () => session.trainChunk(), { budgetMs: 12 });
 *   loop.start();  …  loop.pause();  await loop.idle();
 */

export interface FrameLoopOptions {
  /** Main-thread milliseconds of work per turn (default 12, leaving room in a 16.7 ms frame). */
  budgetMs?: number;
  /** Called once per turn after the work and the GPU wait, e.g. to read metrics (awaited). */
  afterTurn?: () => void | Promise<void>;
  /** Called when `work` or `afterTurn` throws; the loop stops. */
  onError?: (e: unknown) => void;
  /** Clock in milliseconds (default performance.now). */
  now?: () => number;
  /**
   * Turns of GPU work allowed in flight: 2 (default) keeps the GPU busy while the next turn is
   * encoded; 1 waits for each turn's work before the next (less contention with a software GPU).
   */
  inFlight?: 1 | 2;
}

export interface FrameStats {
  /** Turns run so far. */
  turns: number;
  /** Units of work run so far. */
  units: number;
  /** Longest main-thread time one turn's work took, in ms (budget + one unit at most). */
  maxTurnMs: number;
  /** Main-thread time of the last turn's work, in ms. */
  lastTurnMs: number;
  /** Current cap on units per turn (adapted to the GPU's pace). */
  unitCap: number;
  /** Time the last turn waited for the previous turn's GPU work, in ms. */
  lastWaitMs: number;
}

type Yield = () => Promise<void>;

/** Resolve on a fresh macrotask: MessageChannel in browsers (not clamped like setTimeout), else setTimeout. */
export function makeYield(): Yield {
  const MC = (globalThis as { MessageChannel?: typeof MessageChannel }).MessageChannel;
  const isNode = typeof process !== 'undefined' && !!process.versions?.node;
  if (MC && !isNode) {
    const ch = new MC();
    const waiting: (() => void)[] = [];
    ch.port1.onmessage = () => waiting.shift()?.();
    return () =>
      new Promise<void>((resolve) => {
        waiting.push(resolve);
        ch.port2.postMessage(0);
      });
  }
  return () => new Promise<void>((resolve) => setTimeout(resolve, 0));
}

export class FrameLoop {
  readonly stats: FrameStats = { turns: 0, units: 0, maxTurnMs: 0, lastTurnMs: 0, unitCap: 4, lastWaitMs: 0 };
  budgetMs: number;
  private running = false;
  private loopPromise: Promise<void> | null = null;
  private readonly yieldNow: Yield = makeYield();
  private readonly now: () => number;

  constructor(
    private readonly queue: GPUQueue,
    /** One unit of work (e.g. one training chunk). Return false to end this turn early (the loop goes on). */
    private readonly work: () => boolean | void,
    private readonly opts: FrameLoopOptions = {},
  ) {
    this.budgetMs = opts.budgetMs ?? 12;
    this.now = opts.now ?? (() => performance.now());
  }

  get isRunning(): boolean {
    return this.running;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loopPromise = this.run();
  }

  /** Stop after the current turn; `idle()` resolves when it has ended and the GPU is idle. */
  pause(): void {
    this.running = false;
  }

  /** Resolves once the loop has stopped (after `pause`) and its GPU work is done. */
  async idle(): Promise<void> {
    await this.loopPromise;
  }

  private async run(): Promise<void> {
    let inFlight: Promise<unknown> = Promise.resolve();
    try {
      while (this.running) {
        const st = this.stats;
        const t0 = this.now();
        let more = true;
        let n = 0;
        do {
          if (this.work() === false) more = false;
          n++;
        } while (more && this.running && n < st.unitCap && this.now() - t0 < this.budgetMs);
        const ms = this.now() - t0;
        st.units += n;
        st.lastTurnMs = ms;
        st.maxTurnMs = Math.max(st.maxTurnMs, ms);
        st.turns++;
        // At most two turns in flight: wait for the previous turn's commands, not this one's.
        const done = this.queue.onSubmittedWorkDone();
        const w0 = this.now();
        if ((this.opts.inFlight ?? 2) === 1) await done;
        else await inFlight;
        inFlight = done;
        const wait = this.now() - w0;
        st.lastWaitMs = wait;
        if (more) {
          if (wait > this.budgetMs) st.unitCap = Math.max(1, Math.floor(st.unitCap * 0.75));
          else if (n >= st.unitCap && wait < this.budgetMs / 2) st.unitCap = Math.min(100000, Math.ceil(st.unitCap * 1.25) + 1);
        }
        if (this.opts.afterTurn) await this.opts.afterTurn();
        await this.yieldNow();
      }
      await inFlight;
    } catch (e) {
      this.running = false;
      if (this.opts.onError) this.opts.onError(e);
      else throw e;
    }
  }
}
