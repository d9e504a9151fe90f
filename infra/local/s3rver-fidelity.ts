/**
 * Two things S3 guarantees that s3rver does not, added to the embedded store (embedded-s3.ts), because the copy
 * engine relies on both and the local stack, the CLI against it, the tests and the bench all run on it:
 *
 * - **Atomic writes.** S3 makes an object visible only whole: a PUT whose body breaks off leaves the previous
 *   object (or none). s3rver truncates the object file as soon as a PUT starts and keeps whatever arrived, so a
 *   connection reset left a 0-byte object without metadata, which the engine must then treat as someone else's
 *   (target_occupied). Here each body goes to a temporary file (not an `._S3rver_object` file, so never listed) and
 *   replaces the object by rename only once it arrived complete.
 * - **Conditional writes.** `If-None-Match: *` and `If-Match: <etag>` on PutObject and on CompleteMultipartUpload
 *   (S3's answers: 412 PreconditionFailed, or 404 NoSuchKey for If-Match on a missing key). s3rver ignores them, so
 *   two writers racing for one key both "won". The condition is checked at commit time, with the commit of each
 *   key serialised in this process, so exactly one of two racing writers wins, as in S3.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

type Headers = Record<string, string | string[] | undefined>;

/** The members of s3rver (a Koa app) and of its filesystem store that are used or replaced here. */
export interface S3rverInternals {
  middleware: Array<(ctx: { headers: Headers }, next: () => Promise<unknown>) => unknown>;
  store: {
    getResourcePath(bucket: string, key: string, resource: string): string;
    getMetadata(bucket: string, key: string): Promise<{ etag?: string }>;
    putObject(object: S3rverObject): Promise<{ size: number; md5: string }>;
    putMetadata(bucket: string, key: string, metadata: unknown, md5: string): Promise<void>;
  };
}

interface S3rverObject {
  bucket: string;
  key: string;
  content: NodeJS.ReadableStream | Buffer;
  metadata: Record<string, unknown>;
}

type S3ErrorConstructor = new (code: string, message: string, detail?: Record<string, string>) => Error;
const require = createRequire(import.meta.url);

const header = (headers: Headers | undefined, name: string): string | undefined => {
  const v = headers?.[name];
  return Array.isArray(v) ? v[0] : v;
};
const unquote = (etag: string | undefined): string | undefined =>
  etag?.trim().replace(/^W\//, '').replace(/"/g, '');

/** S3's answer to a write whose condition does not hold, or undefined when it holds (or there is none). */
async function conditionFailure(
  store: S3rverInternals['store'],
  object: S3rverObject,
  headers: Headers | undefined,
): Promise<Error | undefined> {
  const noneMatch = header(headers, 'if-none-match');
  const match = header(headers, 'if-match');
  if (noneMatch === undefined && match === undefined) return undefined;
  let etag: string | undefined;
  try {
    etag = (await store.getMetadata(object.bucket, object.key)).etag ?? '';
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOENT') throw err;
  }
  const S3Error = require('s3rver/lib/models/error') as S3ErrorConstructor;
  const failed = (condition: string) =>
    new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', {
      Condition: condition,
    });
  if (noneMatch?.trim() === '*' && etag !== undefined) return failed('If-None-Match');
  if (match !== undefined) {
    if (etag === undefined) return new S3Error('NoSuchKey', 'The specified key does not exist.');
    if (unquote(match) !== unquote(etag)) return failed('If-Match');
  }
  return undefined;
}

/** Runs `fn` for `key` only after every earlier call for the same key has settled. */
function keyedQueue(): <T>(key: string, fn: () => Promise<T>) => Promise<T> {
  const tails = new Map<string, Promise<unknown>>();
  return (key, fn) => {
    const run = (tails.get(key) ?? Promise.resolve()).then(fn, fn);
    const tail = run.catch(() => undefined);
    tails.set(key, tail);
    void tail.then(() => {
      if (tails.get(key) === tail) tails.delete(key);
    });
    return run;
  };
}

/** Call before the server starts listening (Koa composes its middleware then). */
export function addS3Fidelity(server: S3rverInternals): void {
  const requestHeaders = new AsyncLocalStorage<Headers>();
  // First in the chain, so every store call a request makes can see that request's headers.
  server.middleware.unshift((ctx, next) => requestHeaders.run(ctx.headers, next));
  const { store } = server;
  const commit = keyedQueue();
  store.putObject = async (object) => {
    const headers = requestHeaders.getStore();
    const objectPath = store.getResourcePath(object.bucket, object.key, 'object');
    await mkdir(dirname(objectPath), { recursive: true });
    const temp = `${objectPath}.${randomUUID()}.partial`;
    const md5 = createHash('md5');
    let size = 0;
    try {
      const source = Buffer.isBuffer(object.content) ? [object.content] : object.content;
      const count = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          md5.update(chunk);
          size += chunk.length;
          callback(null, chunk);
        },
      });
      await pipeline(source, count, createWriteStream(temp));
      const announced =
        object.content instanceof IncomingMessage ? object.content.headers['content-length'] : undefined;
      if (announced !== undefined && Number(announced) !== size) {
        throw new Error(`body ended after ${size} of ${announced} bytes`);
      }
      const digest = md5.digest('hex');
      await commit(objectPath, async () => {
        const failure = await conditionFailure(store, object, headers);
        if (failure) throw failure;
        await rename(temp, objectPath);
        await store.putMetadata(object.bucket, object.key, object.metadata, digest);
      });
      return { size, md5: digest };
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  };
}
