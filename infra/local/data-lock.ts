/**
 * One process per data folder. Recovery after a crash (atomic-store.ts) removes what an unfinished write left, so
 * it must never run while another process is writing to the same folder.
 *
 * The lock is SQLite's (a tiny database file held with `locking_mode=EXCLUSIVE`), that is the operating system's
 * file lock: a killed process loses it at once, so there is never a stale lock to remove by hand.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { AppError } from '../../functions/core/errors.js';

export const LOCK_FILE_NAME = '.ekb-lock';

export interface DataLock {
  readonly path: string;
  release(): void;
}

export function lockDataFolder(directory: string): DataLock {
  mkdirSync(directory, { recursive: true });
  const path = join(directory, LOCK_FILE_NAME);
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(path);
    db.exec('PRAGMA busy_timeout = 0; PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; COMMIT;');
  } catch (err) {
    try {
      db?.close();
    } catch {
      // Never opened: nothing to close.
    }
    const code = (err as { errcode?: number }).errcode;
    if (code === 5 || code === 6) {
      throw new AppError(
        'local_data_locked',
        `${directory} is in use by another process (is another \`npm start\` running on it?); stop that one or use another data folder`,
        { cause: err },
      );
    }
    throw new AppError('local_data_unusable', `cannot lock ${directory}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const held = db;
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
