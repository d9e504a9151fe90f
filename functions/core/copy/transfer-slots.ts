/**
 * How many files a copy has going at once, in two stages. A file takes a download slot for its GET and keeps it
 * until its body is in (read whole and checked, for a body sent as one PUT) or, for a body streamed into a
 * multipart upload, until the file ends. Its upload then runs on without the download slot, so the next file's GET
 * (whose first byte may be a network round trip away) overlaps this one's PUT (whose answer waits on the store):
 * with `downloads` = the copy's concurrency, a file's time in a download slot is about its GET, not GET + PUT.
 *
 * The memory that buys is bounded twice: files in flight (downloading, or holding their body for the upload) are
 * capped at `files` (by default twice the download slots), and the bodies that gave up their download slot hold
 * `heldBytes` at most in all (by default 2 MiB per download slot). A body that would pass that keeps its download
 * slot to the end, as every file did before: the overlap is for the many small files whose GET is mostly waiting,
 * not for large bodies whose memory counts.
 */

/** Runs one file's copy; `bodyIn(bytes)` offers its download slot to the next file (later calls do nothing). */
export type SlotTask<T> = (bodyIn: (bytes: number) => void) => Promise<T>;

export interface TransferSlotOptions {
  /** Files in flight at most, whatever their stage. Default 2 × downloads. */
  files?: number;
  /** Bytes the bodies that gave up their download slot hold at most, in all. Default 2 MiB × downloads. */
  heldBytes?: number;
}

export interface TransferSlots {
  /** Runs `task` once a file slot and a download slot are free; both are given back when it settles. */
  run<T>(task: SlotTask<T>): Promise<T>;
}

/** A counting semaphore whose waiters go first come, first served. */
class Semaphore {
  #free: number;
  readonly #waiting: Array<() => void> = [];

  constructor(size: number) {
    this.#free = size;
  }

  async acquire(): Promise<void> {
    if (this.#free > 0) {
      this.#free -= 1;
      return;
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#free += 1;
  }
}

/** Slots for `downloads` GETs at once, within the limits of `options`. */
export function transferSlots(downloads: number, options: TransferSlotOptions = {}): TransferSlots {
  const d = Math.max(1, Math.floor(downloads));
  const fileSlots = new Semaphore(Math.max(d, Math.floor(options.files ?? d * 2)));
  const downloadSlots = new Semaphore(d);
  const maxHeld = options.heldBytes ?? d * 2 * 1024 * 1024;
  let held = 0;
  return {
    async run<T>(task: SlotTask<T>): Promise<T> {
      await fileSlots.acquire();
      let downloading = false;
      let holds = 0;
      const handOver = (bytes: number): void => {
        if (!downloading || held + bytes > maxHeld) return;
        downloading = false;
        holds = bytes;
        held += bytes;
        downloadSlots.release();
      };
      try {
        await downloadSlots.acquire();
        downloading = true;
        return await task(handOver);
      } finally {
        if (downloading) downloadSlots.release();
        held -= holds;
        fileSlots.release();
      }
    },
  };
}
