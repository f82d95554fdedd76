/**
 * File-system errors in words. Node's messages ("ENOENT: no such file or directory, open '…'")
 * name a system call and an errno code, not what the user should look at; the CLI says instead
 * which path and what is wrong with it ("the config file /x/c.json does not exist"). Browser-safe.
 */

/** Reasons by errno code; "it …" reads after the path ("/x does not exist"), the others after a colon. */
const REASONS: Record<string, string> = {

  ENOENT: 'it does not exist',
  EISDIR: 'it is a folder, not a file',
  ENOTDIR: 'a part of its path is not a folder',
  EEXIST: 'it already exists',
  ENOTEMPTY: 'it is a folder that is not empty',
  EBUSY: 'it is busy',
  EXDEV: 'it is on another file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exceeded',
  EROFS: 'the file system is read-only',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files',
  ENAMETOOLONG: 'the name is too long',
  ELOOP: 'too many symbolic links',
  EIO: 'an input/output error of the device',
};

/** The errno code of an error from node:fs, if it has one. */
export function fsErrorCode(e: unknown): string | undefined {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : undefined;
}

/**
 * What is wrong, in words ("it does not exist", "permission denied", …). An error without a known
 * code keeps its message minus Node's "CODE: " prefix and ", syscall 'path'" tail.
 */
export function fsReason(e: unknown): string {
  const code = fsErrorCode(e);
  if (code !== undefined && REASONS[code]) return REASONS[code];
  const msg = (e as Error | null)?.message ?? String(e);
  return msg.replace(/^E[A-Z]+: /, '').replace(/, [a-z]+ '[^']*'( -> '[^']*')?$/, '');
}

/** "<what> <path> does not exist", "<what> <path>: permission denied", … */
export function describeFsError(what: string, file: string, e: unknown): string {
  const r = fsReason(e);
  return r.startsWith('it ') ? `${what} ${file} ${r.slice(3)}` : `${what} ${file}: ${r}`;
}
