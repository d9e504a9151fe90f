/**
 * One-process VersionedStore implementations, for tests and the local stack (where s3rver has no conditional
 * writes). Their compare-and-set holds only while a single process writes the key: in AWS use the S3 adapter
 * (functions/aws/s3-versioned-store.ts), whose conditional PutObject holds across Lambdas.
 */
import { createHash } from 'node:crypto';
import type { ReportStore, Versioned, VersionedStore } from '../ports.js';

/** State in a Map; etags count writes. */
export function createMemoryVersionedStore(): VersionedStore & {
  /** The raw stored JSON text, for tests that inspect what was written. */
  peek(key: string): unknown;
} {
  const items = new Map<string, { text: string; etag: string }>();
  let counter = 0;
  return {
    async get<T>(key: string): Promise<Versioned<T> | undefined> {
      const item = items.get(key);
      return item ? { value: JSON.parse(item.text) as T, etag: item.etag } : undefined;
    },
    async putIfMatch(key, value, etag) {
      const item = items.get(key);
      if (etag === null ? item !== undefined : item?.etag !== etag) return undefined;
      counter += 1;
      const next = { text: JSON.stringify(value), etag: `"m${counter}"` };
      items.set(key, next);
      return next.etag;
    },
    peek(key) {
      const item = items.get(key);
      return item ? JSON.parse(item.text) : undefined;
    },
  };
}

function contentTag(value: unknown): string {
  return `"${createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 32)}"`;
}

/**
 * State kept through a ReportStore (so the local stack's state sits in its bucket next to the jobs), with the
 * compare-and-set made atomic by an in-process queue per key and the etag derived from the content. Correct for
 * one process only: two processes could interleave read and write.
 */
export function createReportStoreVersionedStore(store: ReportStore): VersionedStore {
  const tails = new Map<string, Promise<unknown>>();
  const serial = <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    const previous = tails.get(key) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const tail = run.catch(() => undefined);
    tails.set(key, tail);
    void tail.then(() => {
      if (tails.get(key) === tail) tails.delete(key);
    });
    return run;
  };
  return {
    async get<T>(key: string): Promise<Versioned<T> | undefined> {
      const value = await store.getJson<T>(key);
      return value === undefined ? undefined : { value, etag: contentTag(value) };
    },
    putIfMatch(key, value, etag) {
      return serial(key, async () => {
        const current = await store.getJson<unknown>(key);
        const currentTag = current === undefined ? null : contentTag(current);
        if (currentTag !== etag) return undefined;
        // Round-trip so the tag matches what a later get() computes from the stored JSON.
        const stored: unknown = JSON.parse(JSON.stringify(value));
        await store.putJson(key, stored);
        return contentTag(stored);
      });
    },
  };
}
