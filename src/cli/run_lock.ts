/**
 * One run per folder: `train` holds `<run folder>/run.lock` while it writes there, so a second
 * start or `--resume` in a busy folder fails at once, naming the run that holds it, instead of
 * interleaving metrics, config and checkpoints.
 *
 * The lock file is JSON {pid, host, started, command, procStart, token}. It is created complete
 * or not at all: written to a temporary file, then hard-linked to `run.lock` (link fails with
 * EEXIST when a lock exists, atomically, also on NFS); file systems without hard links fall back
 * to an exclusive create.
 *
 * Stale locks (a run killed with SIGKILL, a crash, a power cut) are taken over:
 *   - same host: the holder's PID is not running, or it runs but started at another time than
 *     the lock records (the PID was reused; Linux /proc start times);
 *   - another host: never automatically — a PID there cannot be checked from here. The message
 *     names the host and the file to delete once that run is known to have ended.
 * Taking over renames the stale lock away first and checks that it was the one judged stale, so
 * two starters that both see a stale lock cannot both win.
 *
 * `release()` removes the lock only if it still holds this process's token; a process 'exit'
 * hook releases it too, so every way out of the process except SIGKILL leaves no lock behind.
 */
import { closeSync, linkSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { describeFsError, fsErrorCode } from '../util/fs_errors.js';

export const LOCK_NAME = 'run.lock';

export interface LockHolder {
  pid: number;
  host: string;
  /** ISO time the lock was taken. */
  started: string;
  /** The command line that holds it (for the message). */
  command?: string;
  /** Start time of the process (Linux /proc/<pid>/stat field 22), to tell a reused PID. */
  procStart?: string;
  /** Random, unique to this acquisition. */
  token: string;
}

/** The folder is in use by a live run (or by one on another host that cannot be checked). */
export class RunLockedError extends Error {
  constructor(
    readonly dir: string,
    readonly lockFile: string,
    readonly holder: LockHolder | null,
    detail: string,
  ) {
    super(detail);
    this.name = 'RunLockedError';
  }
}

export interface LockOptions {
  /** Shown to a second starter. */
  command?: string;
  /** Tests: pretend to be another host / process. */
  host?: string;
  pid?: number;
  /** Tests: whether a PID on this host runs (default: signal 0). */
  isAlive?: (pid: number) => boolean;
  /** Tests: the start time of a PID (default: /proc). */
  procStartOf?: (pid: number) => string | undefined;
}

/** Start time of a process from /proc/<pid>/stat (clock ticks since boot), or undefined. */
export function procStartTime(pid: number): string | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // fields after "pid (comm)" start at field 3; the start time is field 22
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return rest[19];
  } catch {
    return undefined;
  }
}

function pidRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it runs, as another user
    return fsErrorCode(e) === 'EPERM';
  }
}

function parseHolder(text: string): LockHolder | null {
  try {
    const h = JSON.parse(text) as Partial<LockHolder>;
    if (typeof h.pid !== 'number' || !Number.isInteger(h.pid) || h.pid <= 0 || typeof h.host !== 'string' || typeof h.token !== 'string') return null;
    return h as LockHolder;
  } catch {
    return null;
  }
}

function describeHolder(h: LockHolder): string {
  return `PID ${h.pid} on host ${h.host}, started ${h.started}${h.command ? ` (${h.command})` : ''}`;
}

export class RunLock {
  private released = false;
  private readonly onExit = () => this.release();

  constructor(
    readonly file: string,
    readonly holder: LockHolder,
    /** Why an earlier lock was taken over (for a note), or null. */
    readonly tookOver: string | null,
  ) {
    process.on('exit', this.onExit);
  }

  get held(): boolean {
    return !this.released;
  }

  /** Removes the lock if it is still this process's (idempotent, synchronous: safe in exit paths). */
  release(): void {
    if (this.released) return;
    this.released = true;
    process.off('exit', this.onExit);
    try {
      const now = parseHolder(readFileSync(this.file, 'utf8'));
      if (now?.token === this.holder.token) unlinkSync(this.file);
    } catch {
      /* already gone */
    }
  }
}

/**
 * Takes the lock of `dir` (the folder must exist) or throws RunLockedError naming the holder.
 * A stale lock (see the file header) is taken over; `tookOver` says what was found.
 */
export function acquireRunLock(dir: string, opts: LockOptions = {}): RunLock {
  const file = path.join(dir, LOCK_NAME);
  const pid = opts.pid ?? process.pid;
  const host = opts.host ?? hostname();
  const isAlive = opts.isAlive ?? pidRuns;
  const startOf = opts.procStartOf ?? procStartTime;
  const me: LockHolder = {
    pid,
    host,
    started: new Date().toISOString(),
    ...(opts.command !== undefined ? { command: opts.command } : {}),
    ...(startOf(pid) !== undefined ? { procStart: startOf(pid)! } : {}),
    token: randomBytes(12).toString('hex'),
  };
  const text = JSON.stringify(me) + '\n';
  const tmp = path.join(dir, `.${LOCK_NAME}.${pid}-${me.token}.tmp`);
  try {
    writeFileSync(tmp, text, { flag: 'wx' });
  } catch (e) {
    throw new Error(`cannot create the lock ${file}: ${describeFsError('the folder', dir, e)}`);
  }
  let tookOver: string | null = null;
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      if (tryCreate(tmp, file, text)) return new RunLock(file, me, tookOver);
      // a lock exists: whose, and is it stale?
      let heldText: string;
      try {
        heldText = readFileSync(file, 'utf8');
      } catch (e) {
        if (fsErrorCode(e) === 'ENOENT') continue; // released meanwhile
        throw new Error(`cannot read ${describeFsError('the lock', file, e)}`);
      }
      const holder = parseHolder(heldText);
      if (!holder) {
        throw new RunLockedError(dir, file, null, `${dir} holds a lock file ${file} that is not a webgpu-snn lock (or is damaged); if no run is using this folder, delete it`);
      }
      const stale = staleReason(holder, host, isAlive, startOf);
      if (stale === null) {
        const remote = holder.host !== host;
        throw new RunLockedError(
          dir,
          file,
          holder,
          remote
            ? `${dir} is in use by a run on another host: ${describeHolder(holder)}; its process cannot be checked from ${host}. If that run has ended, delete ${file}; otherwise choose another --out`
            : `${dir} is in use by another run: ${describeHolder(holder)}; wait for it to end or stop it (Ctrl-C, or kill ${holder.pid}), or choose another --out`,
        );
      }
      // take it over: move it aside, and make sure the one moved is the stale one
      const aside = path.join(dir, `.${LOCK_NAME}.stale-${me.token}-${attempt}`);
      try {
        renameSync(file, aside);
      } catch (e) {
        if (fsErrorCode(e) === 'ENOENT') continue;
        throw new Error(`cannot remove ${describeFsError('the stale lock', file, e)}`);
      }
      const moved = parseHolder(readFileSync(aside, 'utf8'));
      if (moved?.token !== holder.token) {
        // another starter replaced the stale lock in between: put its lock back and re-check
        try {
          linkSync(aside, file);
        } catch {
          /* a third lock is there now: the loop reports it */
        }
        unlinkSync(aside);
        continue;
      }
      unlinkSync(aside);
      tookOver = `took over a stale lock of ${describeHolder(holder)}: ${stale}`;
    }
    throw new Error(`cannot take the lock ${file}: it kept changing (several runs starting in ${dir} at once?)`);
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      /* linked or never made */
    }
  }
}

/** Creates `file` with `text` atomically; false when it exists already. */
function tryCreate(tmp: string, file: string, text: string): boolean {
  try {
    linkSync(tmp, file);
    return true;
  } catch (e) {
    const code = fsErrorCode(e);
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') {
      throw new Error(`cannot create ${describeFsError('the lock', file, e)}`);
    }
  }
  // no hard links here: an exclusive create (a crash between create and write leaves an empty lock)
  let fd: number;
  try {
    fd = openSync(file, 'wx');
  } catch (e) {
    if (fsErrorCode(e) === 'EEXIST') return false;
    throw new Error(`cannot create ${describeFsError('the lock', file, e)}`);
  }
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** Why a holder is stale, or null when it may still be running. */
function staleReason(h: LockHolder, host: string, isAlive: (pid: number) => boolean, startOf: (pid: number) => string | undefined): string | null {
  if (h.host !== host) return null;
  if (!isAlive(h.pid)) return `process ${h.pid} is no longer running`;
  if (h.procStart !== undefined) {
    const now = startOf(h.pid);
    if (now !== undefined && now !== h.procStart) return `PID ${h.pid} now belongs to another process (started at another time)`;
  }
  return null;
}
