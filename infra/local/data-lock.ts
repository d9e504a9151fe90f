/**
 * Locks held by this process alone, as long as it lives: one process per data folder (recovery after a crash,
 * atomic-store.ts, removes what an unfinished write left, so it must never run while another process writes to the
 * same folder), and one CLI run per job (cli/job-lock.ts).
 *
 * The lock is SQLite's (a tiny database file held with `locking_mode=EXCLUSIVE`), that is the operating system's
 * file lock: a killed process loses it at once, so there is never a stale lock to remove by hand.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { AppError, ErrorCode } from '../../functions/core/errors.js';

export const LOCK_FILE_NAME = '.ekb-lock';

export interface DataLock {
  readonly path: string;
  release(): void;
}

/**
 * Takes the lock file at `path` (created when missing) or throws `busy()` at once when another process holds it.
 * The file is left in place on release: removing it could let two processes lock two different files by one name.
 */
/**
 * Two processes opening the lock at the same moment can each take SQLite's shared lock on the way to the exclusive
 * one, and then both be refused (each sees the other's shared lock; EXCLUSIVE locking mode keeps it). Closing
 * drops every lock the attempt took, so a few short retries let exactly one of them win; a lock really held by a
 * running process is still refused, after ~0.1 s.
 */
const LOCK_TRIES = 5;

function openLocked(path: string, busy: (cause: unknown) => AppError): DatabaseSync {
  for (let attempt = 1; ; attempt += 1) {
    let db: DatabaseSync | undefined;
    try {
      db = new DatabaseSync(path);
      db.exec('PRAGMA busy_timeout = 0; PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; COMMIT;');
      return db;
    } catch (err) {
      try {
        db?.close();
      } catch {
        // Never opened: nothing to close.
      }
      const code = (err as { errcode?: number }).errcode;
      // SQLITE_BUSY (5) and SQLITE_LOCKED (6): another process holds it, or is taking it right now.
      const taken = code === 5 || code === 6;
      if (taken && attempt < LOCK_TRIES) {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10 + Math.floor(Math.random() * 20));
        continue;
      }
      if (taken) throw busy(err);
      throw new AppError(ErrorCode.LocalDataUnusable, `cannot lock ${path}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
}

export function lockFile(path: string, busy: (cause: unknown) => AppError): DataLock {
  mkdirSync(dirname(path), { recursive: true });
  const held = openLocked(path, busy);
  let released = false;
  return {
    path,
    release() {
      if (released) return;
      released = true;
      held.close();
    },
  };
}

export function lockDataFolder(directory: string): DataLock {
  mkdirSync(directory, { recursive: true });
  return lockFile(
    join(directory, LOCK_FILE_NAME),
    (cause) =>
      new AppError(
        ErrorCode.LocalDataLocked,
        `${directory} is in use by another process (is another \`npm start\` running on it?); stop that one or use another data folder`,
        { cause },
      ),
  );
}
