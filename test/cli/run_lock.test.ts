/**
 * The run-folder lock (src/cli/run_lock.ts): a second holder is refused with a message naming
 * the first; stale locks (dead PID, reused PID) on this host are taken over; a lock from another
 * host is never taken over; release removes only the holder's own lock.
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { LOCK_NAME, RunLockedError, acquireRunLock, procStartTime } from '../../src/cli/run_lock.js';
import { tmpDir } from './helpers.js';

/** A PID that was just used by a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

const lockOf = (dir: string) => JSON.parse(readFileSync(path.join(dir, LOCK_NAME), 'utf8')) as Record<string, unknown>;

describe('run folder lock', () => {
  it('records the holder, refuses a second holder naming the first, and is released', () => {
    const dir = tmpDir();
    const a = acquireRunLock(dir, { command: 'webgpu-snn train add --out x' });
    expect(lockOf(dir)).toMatchObject({ pid: process.pid, host: hostname(), command: 'webgpu-snn train add --out x' });
    expect(a.tookOver).toBeNull();
    let err: unknown;
    try {
      acquireRunLock(dir);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RunLockedError);
    const msg = (err as Error).message;
    expect(msg).toContain(`${dir} is in use by another run: PID ${process.pid} on host ${hostname()}`);
    expect(msg).toContain('(webgpu-snn train add --out x)');
    expect(msg).toContain('choose another --out');
    a.release();
    expect(existsSync(path.join(dir, LOCK_NAME))).toBe(false);
    a.release(); // idempotent
    const b = acquireRunLock(dir);
    expect(b.held).toBe(true);
    b.release();
    expect(readdirSync(dir)).toEqual([]); // no temporary files left
  });

  it('takes over the lock of a process that is no longer running', () => {
    const dir = tmpDir();
    const pid = deadPid();
    writeFileSync(path.join(dir, LOCK_NAME), JSON.stringify({ pid, host: hostname(), started: '2026-01-01T00:00:00Z', token: 'old' }));
    const l = acquireRunLock(dir);
    expect(l.tookOver).toContain(`took over a stale lock of PID ${pid} on host ${hostname()}`);
    expect(l.tookOver).toContain(`process ${pid} is no longer running`);
    expect(lockOf(dir)['pid']).toBe(process.pid);
    l.release();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('takes over a lock whose PID was reused by another process (other start time)', () => {
    const dir = tmpDir();
    const own = procStartTime(process.pid);
    // the recorded start time of "this" PID differs from its real one
    writeFileSync(path.join(dir, LOCK_NAME), JSON.stringify({ pid: process.pid, host: hostname(), started: 'x', procStart: 'not-' + (own ?? '1'), token: 'old' }));
    const l = acquireRunLock(dir, { procStartOf: (p) => (p === process.pid ? (own ?? '1') : undefined) });
    expect(l.tookOver).toContain(`PID ${process.pid} now belongs to another process`);
    l.release();
  });

  it('never takes over a lock held on another host, and says which file to delete', () => {
    const dir = tmpDir();
    writeFileSync(path.join(dir, LOCK_NAME), JSON.stringify({ pid: deadPid(), host: 'other-machine', started: '2026-01-01T00:00:00Z', token: 'old' }));
    expect(() => acquireRunLock(dir)).toThrow(RunLockedError);
    expect(() => acquireRunLock(dir)).toThrow(`is in use by a run on another host: PID`);
    expect(() => acquireRunLock(dir)).toThrow(`If that run has ended, delete ${path.join(dir, LOCK_NAME)}`);
    expect(lockOf(dir)['host']).toBe('other-machine');
  });

  it('refuses a lock file it cannot read as a lock, naming it', () => {
    const dir = tmpDir();
    writeFileSync(path.join(dir, LOCK_NAME), 'garbage');
    expect(() => acquireRunLock(dir)).toThrow(`${dir} holds a lock file ${path.join(dir, LOCK_NAME)} that is not a webgpu-snn lock (or is damaged); if no run is using this folder, delete it`);
  });

  it('release leaves a lock that another process took over alone', () => {
    const dir = tmpDir();
    const l = acquireRunLock(dir, { pid: 999999, isAlive: () => false });
    // a later starter judged it stale (its process was gone) and took it over
    const other = acquireRunLock(dir, { isAlive: (p) => p !== 999999 });
    expect(other.tookOver).toContain('PID 999999');
    l.release();
    expect(lockOf(dir)['token']).not.toBeUndefined();
    expect(lockOf(dir)['pid']).toBe(process.pid);
    other.release();
    expect(existsSync(path.join(dir, LOCK_NAME))).toBe(false);
  });

  it('says so when the folder does not exist', () => {
    const dir = path.join(tmpDir(), 'missing');
    expect(() => acquireRunLock(dir)).toThrow(`cannot create the lock ${path.join(dir, LOCK_NAME)}: the folder ${dir} does not exist`);
  });
});
