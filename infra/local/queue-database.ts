/**
 * The file behind the local queues (local-queue.ts): one SQLite database (Node's built-in `node:sqlite`) holding
 * every queue's messages, so what was sent, received and dead-lettered survives `kill -9`.
 *
 * - WAL journal with `synchronous=FULL`: a statement that returned is on disk, whatever happens to the process
 *   (or the machine) next.
 * - `locking_mode=EXCLUSIVE`: the first process to open the file holds SQLite's lock until it closes it; a second
 *   process is refused with a clear error instead of two pollers handing the same message to two consumers. The
 *   lock is the operating system's, so it dies with a killed process: no stale lock file to clean by hand.
 * - One connection per file per process, shared by every queue opened on it (a second connection in the same
 *   process would be refused by the same lock), closed when the last queue closes.
 * - Opening a file is recovery: a message the previous process had handed to a consumer cannot be running any
 *   more (it held the lock), so it is made visible again at once, its receive counted as SQS counts one.
 */
import { mkdirSync, realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { AppError } from '../../functions/core/errors.js';

/** Give a private, non-durable database (tests, and queues that need not survive a restart). */
export const IN_MEMORY = ':memory:';

const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS queue_messages (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  queue TEXT NOT NULL,
  message_id TEXT NOT NULL UNIQUE,
  body TEXT NOT NULL,
  md5_of_body TEXT NOT NULL,
  attributes TEXT NOT NULL,
  md5_of_attributes TEXT,
  sent_at INTEGER NOT NULL,
  visible_at INTEGER NOT NULL,
  receive_count INTEGER NOT NULL DEFAULT 0,
  first_receive_at INTEGER,
  receipt_handle TEXT,
  in_flight INTEGER NOT NULL DEFAULT 0,
  dead_lettered_at INTEGER
) STRICT;
CREATE INDEX IF NOT EXISTS queue_messages_by_queue ON queue_messages (queue, seq);
PRAGMA user_version = ${SCHEMA_VERSION};
`;

/** Opening the queue database failed: it is held by another process, or it is not a queue database. */
export class LocalQueueError extends AppError {}

export interface QueueRecovery {
  /** Messages found in the queue when the database was opened (in flight or not). */
  messages: number;
  /** Of those, messages the previous process had handed to a consumer when it stopped: delivered again now. */
  interrupted: number;
}

/** One open database file and the queues using it. Internal to the local queues; see LocalQueue's options. */
export class QueueDatabase {
  readonly path: string;
  readonly db: DatabaseSync;
  readonly #recovery = new Map<string, QueueRecovery>();
  readonly #queues = new Set<string>();
  #open = true;

  constructor(path: string, now: number) {
    this.path = path;
    if (path !== IN_MEMORY) mkdirSync(dirname(path), { recursive: true });
    let db: DatabaseSync | undefined;
    try {
      db = new DatabaseSync(path);
      // Fail at once when another process holds the file: waiting would only hide the conflict.
      db.exec('PRAGMA busy_timeout = 0');
      db.exec('PRAGMA locking_mode = EXCLUSIVE');
      if (path !== IN_MEMORY) {
        const mode = db.prepare('PRAGMA journal_mode = WAL').get() as { journal_mode?: string } | undefined;
        if (mode?.journal_mode !== 'wal') throw new Error(`journal mode is ${mode?.journal_mode}, not wal`);
      }
      db.exec('PRAGMA synchronous = FULL');
      db.exec('BEGIN EXCLUSIVE');
      const version = (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
      if (version > SCHEMA_VERSION) {
        throw new LocalQueueError(
          'local_queue_unreadable',
          `${path} was written by a newer version of ekb-archive (schema ${version}); update, or move the file away`,
        );
      }
      db.exec(SCHEMA);
      this.#recover(db, now);
      db.exec('COMMIT');
    } catch (err) {
      try {
        db?.close();
      } catch {
        // The open failed; closing what there is can only fail the same way.
      }
      throw explainOpenError(path, err);
    }
    this.db = db as DatabaseSync;
  }

  #recover(db: DatabaseSync, now: number): void {
    const rows = db
      .prepare(
        'SELECT queue, COUNT(*) AS messages, SUM(in_flight) AS interrupted FROM queue_messages GROUP BY queue',
      )
      .all() as Array<{ queue: string; messages: number; interrupted: number | null }>;
    for (const r of rows) {
      this.#recovery.set(r.queue, { messages: r.messages, interrupted: r.interrupted ?? 0 });
    }
    // The receive stays counted (SQS counts a receive whose consumer died), so a message that kills its consumer
    // every time still reaches the DLQ after maxReceiveCount receives.
    db.prepare(
      `UPDATE queue_messages SET in_flight = 0, receipt_handle = NULL,
         visible_at = CASE WHEN visible_at > ? THEN ? ELSE visible_at END
       WHERE in_flight = 1`,
    ).run(now, now);
  }

  /** What this database held for `queue` when it was opened. */
  recoveryOf(queue: string): QueueRecovery {
    return this.#recovery.get(queue) ?? { messages: 0, interrupted: 0 };
  }

  get isOpen(): boolean {
    return this.#open;
  }

  attach(queue: string): void {
    if (this.#queues.has(queue)) {
      throw new LocalQueueError(
        'local_queue_open',
        `queue ${queue} is already open on ${this.path} in this process; open it once and share it`,
      );
    }
    this.#queues.add(queue);
  }

  /** Closes the file when the last queue using it lets go. */
  detach(queue: string): void {
    this.#queues.delete(queue);
    if (this.#queues.size > 0 || !this.#open) return;
    this.#open = false;
    openFiles.delete(this.path);
    this.db.close();
  }

  /** Runs `fn` in one transaction (one fsync for a batch of statements). */
  transaction<T>(fn: () => T): T {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const out = fn();
      this.db.exec('COMMIT');
      return out;
    } catch (err) {
      this.db.exec('ROLLBACK');
      throw err;
    }
  }
}

const openFiles = new Map<string, QueueDatabase>();

/** The process's connection to `path` (opened and recovered on first use); IN_MEMORY gives a private one. */
export function openQueueDatabase(path: string, now: number = Date.now()): QueueDatabase {
  if (path === IN_MEMORY) return new QueueDatabase(IN_MEMORY, now);
  const key = canonicalPath(path);
  const existing = openFiles.get(key);
  if (existing?.isOpen) return existing;
  const opened = new QueueDatabase(key, now);
  openFiles.set(key, opened);
  return opened;
}

/** The same file reached through a symlinked folder is the same database. */
function canonicalPath(path: string): string {
  const absolute = resolve(path);
  try {
    return join(realpathSync(dirname(absolute)), basename(absolute));
  } catch {
    return absolute;
  }
}

function explainOpenError(path: string, err: unknown): Error {
  if (err instanceof LocalQueueError) return err;
  const code = (err as { errcode?: number }).errcode;
  // SQLITE_BUSY (5) and SQLITE_LOCKED (6): another process holds the exclusive lock.
  if (code === 5 || code === 6) {
    return new LocalQueueError(
      'local_queue_locked',
      `the local queue database ${path} is in use by another process (is another \`npm start\` running on this data folder?)`,
      { cause: err },
    );
  }
  // SQLITE_CORRUPT (11), SQLITE_NOTADB (26).
  if (code === 11 || code === 26) {
    return new LocalQueueError(
      'local_queue_unreadable',
      `${path} is not a readable queue database (${(err as Error).message}); move it away to start with an empty queue`,
      { cause: err },
    );
  }
  return new LocalQueueError(
    'local_queue_unreadable',
    `could not open the local queue database ${path}: ${(err as Error).message}`,
    { cause: err },
  );
}
