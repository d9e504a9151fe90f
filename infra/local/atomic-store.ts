/**
 * s3rver's filesystem store (node_modules/s3rver/lib/stores/filesystem.js), changed so that an object is visible
 * only when it is whole, with its metadata, whatever happens to the process.
 *
 * s3rver writes an object in place while the body streams, then its checksum file, then its metadata file: a
 * crash (or a client that hangs up) leaves a truncated object that GET serves with 200, or a 0-byte metadata file
 * that makes HEAD, GET and every listing covering the key answer 500. Here:
 * - a body (PUT, a part, a completed multipart upload, a copy) streams into a temporary file beside its target,
 *   is counted against Content-Length and fsync'd; a body that ends early is an error and leaves nothing;
 * - the write is then committed by a commit record (`<object>.ekb-commit`, written to a temporary file, fsync'd
 *   and renamed into place: the commit point), which is applied (checksum and metadata files, the object renamed
 *   over the old one) and removed. Readers of that key wait while a commit is applied, so they see the old object
 *   or the new one, each with its own metadata;
 * - on start, recoverStore() finishes every committed write and removes every uncommitted one, incomplete
 *   multipart uploads, and metadata left without an object; an object without valid metadata (what s3rver itself
 *   left after a crash) is moved to `<directory>/.ekb-lost+found/` and reported, not served.
 *
 * A write carrying S3's conditions (If-None-Match: * / If-Match, see conditional-writes.ts) is decided at its
 * commit, with the key's lock held: a condition that no longer holds leaves nothing and answers as S3 does.
 *
 * The files keep s3rver's layout (`<key>._S3rver_object`, `.md5`, `._S3rver_metadata.json`), so archived files can
 * still be opened directly and an existing data folder keeps working.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  close,
  createReadStream,
  createWriteStream,
  type Dirent,
  fstat,
  open as openFd,
  readdirSync,
} from 'node:fs';
import {
  type FileHandle,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  rmdir,
  stat,
  unlink,
} from 'node:fs/promises';
import { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import { basename, dirname, join, posix, relative } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { conditionRefusal, type WriteConditions } from './conditional-writes.js';

const openAsync = promisify(openFd);
const fstatAsync = promisify(fstat);
const closeAsync = promisify(close);

const SUFFIX = '._S3rver_';
const OBJECT_SUFFIX = `${SUFFIX}object`;
const MD5_SUFFIX = `${SUFFIX}object.md5`;
const METADATA_SUFFIX = `${SUFFIX}metadata.json`;
const UPLOADS_SUFFIX = `${SUFFIX}uploads`;
const COMMIT_SUFFIX = '.ekb-commit';
const TEMP_MARK = '.ekb-tmp-';
/** s3rver's own files always end in `._S3rver_<resource>`: these two patterns can never name one of them. */
const TEMP_FILE = /\.ekb-tmp-[0-9a-f]{16}$/;
const LOST_AND_FOUND = '.ekb-lost+found';

type Metadata = Record<string, unknown>;

interface S3rverObject {
  bucket: string;
  key: string;
  content: Readable | Buffer | null;
  metadata: Record<string, string>;
  range?: { start: number; end: number };
}

interface ListOptions {
  delimiter?: string;
  startAfter?: string;
  prefix?: string;
  maxKeys?: number;
}

interface FilesystemStoreBase {
  readonly rootDirectory: string;
  getBucketPath(bucket: string): string;
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  getMetadata(bucket: string, key: string): Promise<Metadata>;
  listBuckets(): Promise<Array<{ name: string }>>;
  listObjects(
    bucket: string,
    options: ListOptions,
  ): Promise<{ objects: S3rverObject[]; commonPrefixes: string[]; isTruncated: boolean }>;
  getObject(
    bucket: string,
    key: string,
    options?: { start?: number; end?: number },
  ): Promise<S3rverObject | null>;
  putObject(object: S3rverObject): Promise<{ size: number; md5: string }>;
  copyObject(
    srcBucket: string,
    srcKey: string,
    destBucket: string,
    destKey: string,
    replacementMetadata: Metadata | null,
  ): Promise<Metadata>;
  deleteObject(bucket: string, key: string): Promise<void>;
  putPart(
    bucket: string,
    uploadId: string,
    partNumber: number | string,
    content: Readable,
  ): Promise<{ size: number; md5: string }>;
  putObjectMultipart(
    bucket: string,
    uploadId: string,
    parts: Array<{ number: number; etag: string }>,
  ): Promise<{ size: number; md5: string }>;
}

// s3rver ships no types; these local shapes cover what is used here.
const require = createRequire(import.meta.url);
const FilesystemStore = require('s3rver/lib/stores/filesystem') as new (
  rootDirectory: string,
) => FilesystemStoreBase;
const S3Object = require('s3rver/lib/models/object') as (new (
  bucket: string,
  key: string,
  content: Readable | null,
  metadata: Metadata,
) => S3rverObject) & { ALLOWED_METADATA: string[] };
const S3Error = require('s3rver/lib/models/error') as new (
  code: string,
  message: string,
  detail?: Record<string, string>,
) => Error;

/** What a commit record says: the finished body (a temp file beside the object, or none) and its sidecars. */
interface Commit {
  data: string | null;
  md5: string;
  metadata: Metadata;
}

export interface AtomicStoreOptions {
  /**
   * fsync bodies, sidecars and commit records (default true). Without it a `kill -9` still never shows a partial
   * object (the operating system keeps what was written); a power cut may lose the last writes.
   */
  fsync?: boolean;
  /**
   * The conditions (If-None-Match / If-Match) of the request being served, read by PutObject and
   * CompleteMultipartUpload (embedded-s3.ts passes conditional-writes.ts' requestConditions().current).
   */
  conditions?: () => WriteConditions | undefined;
}

/** Runs one function at a time per key, in call order. */
class KeyLocks {
  readonly #tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    let release: () => void = () => {};
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => mine);
    this.#tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }
}

const isCode = (err: unknown, ...codes: string[]) =>
  codes.includes((err as NodeJS.ErrnoException | null)?.code ?? '');

/** The metadata s3rver keeps for an object (its putMetadata's choice). */
function storedMetadata(metadata: Metadata): Metadata {
  const out: Metadata = {};
  for (const [k, v] of Object.entries(metadata)) {
    if (S3Object.ALLOWED_METADATA.includes(k) || k.startsWith('x-amz-meta-')) out[k] = v;
  }
  return out;
}

/** Content-Length of a plain request body; undefined for anything else (chunked transfer, a form's file part). */
function declaredLength(content: unknown): number | undefined {
  if (!(content instanceof IncomingMessage)) return undefined;
  const value = content.headers['content-length'];
  return value === undefined ? undefined : Number(value);
}

function metadataPathOf(objectPath: string): string {
  return `${objectPath.slice(0, -OBJECT_SUFFIX.length)}${METADATA_SUFFIX}`;
}

async function writeFileDurable(path: string, data: string, fsync: boolean): Promise<void> {
  const file = await open(path, 'w');
  try {
    await file.writeFile(data);
    if (fsync) await file.sync();
  } finally {
    await file.close();
  }
}

async function syncDirectory(path: string, fsync: boolean): Promise<void> {
  if (!fsync) return;
  const dir = await open(path, 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/** Applies a commit record: sidecars first, then the body renamed over the object, then the record removed. */
async function applyCommit(objectPath: string, commit: Commit, fsync: boolean): Promise<void> {
  await writeFileDurable(`${objectPath}.md5`, commit.md5, fsync);
  await writeFileDurable(metadataPathOf(objectPath), JSON.stringify(commit.metadata, null, 2), fsync);
  if (commit.data !== null) {
    try {
      await rename(join(dirname(objectPath), commit.data), objectPath);
    } catch (err) {
      // Recovery applying a record twice: the body was already moved the first time.
      if (!isCode(err, 'ENOENT')) throw err;
    }
  }
  await syncDirectory(dirname(objectPath), fsync);
  await unlink(`${objectPath}${COMMIT_SUFFIX}`);
}

/** The files under `dir`, sorted like s3rver's walk; vanished entries are skipped, uploads are not descended. */
function* walk(dir: string, descend: (dirPath: string) => boolean): Generator<string> {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if (isCode(err, 'ENOENT', 'ENOTDIR')) return;
    throw err;
  }
  for (const entry of entries) {
    const path = posix.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!entry.name.endsWith(UPLOADS_SUFFIX) && descend(path)) yield* walk(path, descend);
    } else if (!TEMP_FILE.test(entry.name) && !entry.name.endsWith(COMMIT_SUFFIX)) {
      yield path;
    }
  }
}

export class AtomicFilesystemStore extends FilesystemStore {
  readonly #locks = new KeyLocks();
  readonly #fsync: boolean;
  readonly #conditions: () => WriteConditions | undefined;

  constructor(rootDirectory: string, options: AtomicStoreOptions = {}) {
    super(rootDirectory);
    this.#fsync = options.fsync ?? true;
    this.#conditions = options.conditions ?? (() => undefined);
  }

  /**
   * Throws S3's answer when the write's conditions do not hold for what is at the key now, removing the body it
   * would have committed. Call with the key's lock held, right before the commit, so no other write comes between.
   */
  async #checkConditions(
    bucket: string,
    key: string,
    conditions: WriteConditions | undefined,
    temp?: string,
  ): Promise<void> {
    if (!conditions) return;
    let etag: string | undefined;
    try {
      etag = (await this.#readMetadata(bucket, key)).md5;
    } catch (err) {
      if (!isCode(err, 'ENOENT')) throw err;
    }
    const refusal = conditionRefusal(conditions, etag);
    if (!refusal) return;
    if (temp !== undefined) await unlink(temp).catch(() => undefined);
    throw new S3Error(refusal.code, refusal.message, refusal.detail);
  }

  #lockKey(bucket: string, key: string): string {
    return `${bucket}\u0000${key}`;
  }

  /** Streams a body into a fresh temporary file beside `target`; nothing is left behind when it fails. */
  async #receive(
    target: string,
    content: Readable | Buffer,
    expectedSize: number | undefined,
    /** False for a part: its upload's folder must exist (never bring back an upload completed meanwhile). */
    createFolder = true,
  ): Promise<{ temp: string; size: number; md5: string }> {
    const temp = `${target}${TEMP_MARK}${randomBytes(8).toString('hex')}`;
    let file: FileHandle;
    try {
      if (createFolder) await mkdir(dirname(target), { recursive: true });
      file = await open(temp, 'wx');
    } catch (err) {
      if (!isCode(err, 'ENOENT')) throw err;
      if (!createFolder) throw new S3Error('NoSuchUpload', 'The specified upload does not exist.');
      // A delete of the folder's last object removes the folder; make it again once.
      await mkdir(dirname(target), { recursive: true });
      file = await open(temp, 'wx');
    }
    const hash = createHash('md5');
    let size = 0;
    try {
      const counter = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          hash.update(chunk);
          size += chunk.length;
          callback(null, chunk);
        },
      });
      const source = Buffer.isBuffer(content) ? Readable.from([content]) : content;
      // The stream closes the file (after fsync with `flush`) before the pipeline resolves.
      await pipeline(source, counter, createWriteStream('', { fd: file, flush: this.#fsync }));
      if (expectedSize !== undefined && size !== expectedSize) {
        throw new S3Error(
          'IncompleteBody',
          `You did not provide the number of bytes specified by the Content-Length HTTP header (${size} of ${expectedSize})`,
        );
      }
    } catch (err) {
      await file.close().catch(() => undefined);
      await unlink(temp).catch(() => undefined);
      throw err;
    }
    return { temp, size, md5: hash.digest('hex') };
  }

  /** Writes the commit record (the commit point) and applies it. Call with the key's lock held. */
  async #commit(objectPath: string, commit: Commit): Promise<void> {
    const record = `${objectPath}${COMMIT_SUFFIX}`;
    const temp = `${record}${TEMP_MARK}${randomBytes(8).toString('hex')}`;
    await writeFileDurable(temp, JSON.stringify(commit), this.#fsync);
    await rename(temp, record);
    await applyCommit(objectPath, commit, this.#fsync);
  }

  /** Stored metadata, checksum and the object's stat, read together (callers hold the key's lock). */
  async #readMetadata(
    bucket: string,
    key: string,
    fd?: number,
  ): Promise<{ metadata: Metadata; stored: Metadata; md5: string }> {
    const objectPath = this.getResourcePath(bucket, key, 'object');
    const info = fd === undefined ? await stat(objectPath) : await fstatAsync(fd);
    const [stored, md5] = await Promise.all([
      readFile(this.getResourcePath(bucket, key, 'metadata.json'), 'utf8').then(
        (text) => JSON.parse(text) as Metadata,
        (err: unknown) => {
          if (isCode(err, 'ENOENT')) return {};
          throw err;
        },
      ),
      readFile(`${objectPath}.md5`, 'utf8').catch(async (err: unknown) => {
        // An object from before this store (recovery quarantines one whose write did not finish).
        if (!isCode(err, 'ENOENT')) throw err;
        const hash = createHash('md5');
        for await (const chunk of createReadStream(objectPath)) hash.update(chunk as Buffer);
        return hash.digest('hex');
      }),
    ]);
    return {
      stored,
      md5,
      metadata: {
        ...stored,
        etag: JSON.stringify(md5),
        'last-modified': info.mtime.toUTCString(),
        'content-length': info.size,
      },
    };
  }

  override async listBuckets(): Promise<Array<{ name: string }>> {
    // Bucket names never start with a dot; the lost+found folder does.
    return (await super.listBuckets()).filter((b) => !b.name.startsWith('.'));
  }

  override getMetadata(bucket: string, key: string): Promise<Metadata> {
    return this.#locks.run(
      this.#lockKey(bucket, key),
      async () => (await this.#readMetadata(bucket, key)).metadata,
    );
  }

  override async getObject(
    bucket: string,
    key: string,
    options?: { start?: number; end?: number },
  ): Promise<S3rverObject | null> {
    const opened = await this.#openVersion(bucket, key);
    if (!opened) return null;
    const { fd, metadata } = opened;
    const lastByte = Math.max(0, Number(metadata['content-length']) - 1);
    const ranged = options !== undefined && (options.start !== undefined || Boolean(options.end));
    const range = {
      start: options?.start || 0,
      end: Math.min(options?.end || Number.POSITIVE_INFINITY, lastByte),
    };
    if (range.start < 0 || Math.min(range.end, lastByte) < range.start) {
      await closeAsync(fd);
      const object = new S3Object(bucket, key, null, metadata);
      if (ranged) object.range = range;
      return object;
    }
    const object = new S3Object(bucket, key, createReadStream('', { fd, ...range }), metadata);
    if (ranged) object.range = range;
    return object;
  }

  /**
   * Opens the object and reads its metadata under the key's lock: the open file is that version of the object,
   * so body and headers agree even if a new version is committed while the body streams. A plain descriptor, as
   * s3rver uses: the stream made from it closes it.
   */
  async #openVersion(
    bucket: string,
    key: string,
  ): Promise<{ fd: number; metadata: Metadata; stored: Metadata; md5: string } | undefined> {
    return this.#locks.run(this.#lockKey(bucket, key), async () => {
      let fd: number;
      try {
        fd = await openAsync(this.getResourcePath(bucket, key, 'object'), 'r');
      } catch (err) {
        if (isCode(err, 'ENOENT')) return undefined;
        throw err;
      }
      try {
        return { fd, ...(await this.#readMetadata(bucket, key, fd)) };
      } catch (err) {
        await closeAsync(fd);
        throw err;
      }
    });
  }

  override async listObjects(
    bucket: string,
    options: ListOptions,
  ): Promise<{ objects: S3rverObject[]; commonPrefixes: string[]; isTruncated: boolean }> {
    // s3rver's own listing, over a walk that tolerates files vanishing meanwhile (a temporary file renamed, an
    // upload's parts removed) instead of answering 500.
    const { delimiter = '', startAfter = '', prefix = '', maxKeys = Number.POSITIVE_INFINITY } = options;
    const bucketPath = this.getBucketPath(bucket);
    const startAfterPath = [bucketPath, startAfter].join('/');
    const prefixPath = [bucketPath, prefix].join('/');
    const files = walk(bucketPath, (dirPath) => {
      if (dirPath < startAfterPath && !startAfterPath.includes(dirPath)) return false;
      if (dirPath.startsWith(prefixPath)) {
        return !(delimiter && dirPath.slice(prefixPath.length).includes(delimiter));
      }
      return prefixPath.startsWith(dirPath);
    });
    const commonPrefixes = new Set<string>();
    const keys: string[] = [];
    let isTruncated = false;
    for (const path of files) {
      if (!path.endsWith(OBJECT_SUFFIX)) continue;
      const key = path.slice(bucketPath.length + 1, -OBJECT_SUFFIX.length);
      if (key <= startAfter || !key.startsWith(prefix)) continue;
      if (delimiter) {
        const idx = key.slice(prefix.length).indexOf(delimiter);
        if (idx !== -1) {
          commonPrefixes.add(key.slice(0, prefix.length + idx + 1));
          continue;
        }
      }
      if (keys.length < maxKeys) {
        keys.push(key);
      } else {
        isTruncated = true;
        break;
      }
    }
    const metadata = await Promise.all(
      keys.map((key) =>
        this.getMetadata(bucket, key).catch((err: unknown) => {
          if (isCode(err, 'ENOENT')) return undefined;
          throw err;
        }),
      ),
    );
    const objects: S3rverObject[] = [];
    keys.forEach((key, i) => {
      const m = metadata[i];
      if (m !== undefined) objects.push(new S3Object(bucket, key, null, m));
    });
    return { objects, commonPrefixes: [...commonPrefixes].sort(), isTruncated };
  }

  override async putObject(object: S3rverObject): Promise<{ size: number; md5: string }> {
    const conditions = this.#conditions();
    const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
    const body = await this.#receive(
      objectPath,
      object.content ?? Buffer.alloc(0),
      declaredLength(object.content),
    );
    await this.#locks.run(this.#lockKey(object.bucket, object.key), async () => {
      await this.#checkConditions(object.bucket, object.key, conditions, body.temp);
      await this.#commit(objectPath, {
        data: basename(body.temp),
        md5: body.md5,
        metadata: storedMetadata(object.metadata),
      });
    });
    return { size: body.size, md5: body.md5 };
  }

  override async copyObject(
    srcBucket: string,
    srcKey: string,
    destBucket: string,
    destKey: string,
    replacementMetadata: Metadata | null,
  ): Promise<Metadata> {
    const destPath = this.getResourcePath(destBucket, destKey, 'object');
    const source = await this.#openVersion(srcBucket, srcKey);
    if (!source) throw new S3Error('NoSuchKey', 'The specified key does not exist.', { Key: srcKey });
    const metadata = storedMetadata(replacementMetadata ?? source.stored);
    if (this.getResourcePath(srcBucket, srcKey, 'object') === destPath) {
      // The same object with new metadata (s3rver refuses a copy onto itself without REPLACE).
      await closeAsync(source.fd);
      await this.#locks.run(this.#lockKey(destBucket, destKey), async () => {
        const { md5 } = await this.#readMetadata(destBucket, destKey);
        await this.#commit(destPath, { data: null, md5, metadata });
      });
    } else {
      const bytes = createReadStream('', { fd: source.fd, start: 0 });
      // Destroyed in any case: a failure before the body is read must not leave the descriptor open.
      const body = await this.#receive(destPath, bytes, undefined).finally(() => bytes.destroy());
      await this.#locks.run(this.#lockKey(destBucket, destKey), () =>
        this.#commit(destPath, { data: basename(body.temp), md5: body.md5, metadata }),
      );
    }
    return this.getMetadata(destBucket, destKey);
  }

  override async deleteObject(bucket: string, key: string): Promise<void> {
    await this.#locks.run(this.#lockKey(bucket, key), async () => {
      // The object first: once it is gone the key is deleted, and a crash now leaves only sidecars (removed on
      // the next start), never an object without its metadata.
      for (const resource of ['object', 'object.md5', 'metadata.json']) {
        await unlink(this.getResourcePath(bucket, key, resource)).catch((err: unknown) => {
          if (!isCode(err, 'ENOENT')) throw err;
        });
      }
    });
    const bucketPath = this.getBucketPath(bucket);
    const parts = key.split('/');
    parts.pop();
    while (parts.length > 0) {
      try {
        await rmdir(join(bucketPath, ...parts));
      } catch {
        // Not empty (another object, or a body being written into it), or already gone: leave it.
        break;
      }
      parts.pop();
    }
  }

  #uploadDir(bucket: string, uploadId: string): string {
    if (!/^[0-9a-f]+$/.test(uploadId))
      throw new S3Error('NoSuchUpload', 'The specified upload does not exist.');
    return join(this.getResourcePath(bucket, undefined, 'uploads'), uploadId);
  }

  override async putPart(
    bucket: string,
    uploadId: string,
    partNumber: number | string,
    content: Readable,
  ): Promise<{ size: number; md5: string }> {
    // s3rver would make a folder for any upload id; S3 answers NoSuchUpload (after a restart removed the upload,
    // or when it completed meanwhile).
    const partPath = join(this.#uploadDir(bucket, uploadId), String(Number(partNumber)));
    const body = await this.#receive(partPath, content, declaredLength(content), false);
    try {
      await rename(body.temp, partPath);
      await writeFileDurable(`${partPath}.md5`, body.md5, false);
    } catch (err) {
      await unlink(body.temp).catch(() => undefined);
      if (isCode(err, 'ENOENT')) throw new S3Error('NoSuchUpload', 'The specified upload does not exist.');
      throw err;
    }
    return { size: body.size, md5: body.md5 };
  }

  override async putObjectMultipart(
    bucket: string,
    uploadId: string,
    parts: Array<{ number: number; etag: string }>,
  ): Promise<{ size: number; md5: string }> {
    const conditions = this.#conditions();
    const uploadDir = this.#uploadDir(bucket, uploadId);
    let key: string;
    let initiated: Metadata;
    try {
      key = await readFile(join(uploadDir, 'key'), 'utf8');
      initiated = JSON.parse(await readFile(join(uploadDir, 'metadata'), 'utf8')) as Metadata;
    } catch {
      throw new S3Error('NoSuchUpload', 'The specified upload does not exist.');
    }
    const sorted = [...parts].sort((a, b) => a.number - b.number);
    for (const part of sorted) {
      // As S3 does: every listed part must exist with the ETag the client was given for it.
      const md5 = await readFile(join(uploadDir, `${part.number}.md5`), 'utf8').catch(() => undefined);
      if (md5 === undefined || md5 !== part.etag) {
        throw new S3Error(
          'InvalidPart',
          "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
        );
      }
    }
    async function* concatenated(): AsyncGenerator<Buffer> {
      for (const part of sorted) {
        for await (const chunk of createReadStream(join(uploadDir, String(part.number))))
          yield chunk as Buffer;
      }
    }
    const object = new S3Object(bucket, key, null, initiated);
    const objectPath = this.getResourcePath(bucket, key, 'object');
    // Refused at once when the condition already fails (no need to join the parts); checked again at the commit.
    await this.#locks.run(this.#lockKey(bucket, key), () => this.#checkConditions(bucket, key, conditions));
    const body = await this.#receive(objectPath, Readable.from(concatenated()), undefined);
    // A refused completion leaves the upload as it was (S3 too): the client may complete it again or abort it.
    await this.#locks.run(this.#lockKey(bucket, key), async () => {
      await this.#checkConditions(bucket, key, conditions, body.temp);
      await this.#commit(objectPath, {
        data: basename(body.temp),
        md5: body.md5,
        metadata: storedMetadata(object.metadata),
      });
    });
    await rm(uploadDir, { recursive: true, force: true });
    return { size: body.size, md5: body.md5 };
  }
}

export interface StoreRecovery {
  /** Writes whose commit record was on disk: finished now. */
  completed: number;
  /** Bodies and records of writes that never committed: removed. */
  incompleteRemoved: number;
  /** Multipart uploads never completed: removed with their parts (clients see NoSuchUpload and start again). */
  uploadsRemoved: number;
  /** Checksum or metadata files without an object: removed. */
  orphansRemoved: number;
  /** `bucket/key` of objects without a valid checksum or metadata, moved to `lostAndFound` instead of served. */
  quarantined: string[];
  lostAndFound: string;
}

interface FileGroup {
  object?: string;
  md5?: string;
  metadata?: string;
}

async function filesUnder(dir: string, out: { files: string[]; uploads: string[] }): Promise<void> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (isCode(err, 'ENOENT', 'ENOTDIR')) return;
    throw err;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name.endsWith(UPLOADS_SUFFIX)) out.uploads.push(path);
      else await filesUnder(path, out);
    } else if (entry.isFile()) {
      out.files.push(path);
    }
  }
}

async function isValidMd5(path: string): Promise<boolean> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return /^[0-9a-f]{32}$/.test(text);
}

async function isValidMetadata(path: string): Promise<boolean> {
  try {
    const value: unknown = JSON.parse(await readFile(path, 'utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}

/** Step 1: finish what committed (a record is renamed into place whole, so it either parses or is absent). */
async function finishCommits(files: string[], report: StoreRecovery, fsync: boolean): Promise<void> {
  for (const record of files.filter((f) => f.endsWith(`${OBJECT_SUFFIX}${COMMIT_SUFFIX}`))) {
    let commit: Commit | undefined;
    try {
      commit = JSON.parse(await readFile(record, 'utf8')) as Commit;
    } catch {
      commit = undefined;
    }
    if (commit && typeof commit.md5 === 'string' && typeof commit.metadata === 'object') {
      await applyCommit(record.slice(0, -COMMIT_SUFFIX.length), commit, fsync);
      report.completed += 1;
    } else {
      await unlink(record);
      report.incompleteRemoved += 1;
    }
  }
}

/** Step 2: remove what did not commit, and every unfinished multipart upload. */
async function removeIncomplete(
  found: { files: string[]; uploads: string[] },
  report: StoreRecovery,
): Promise<void> {
  for (const temp of found.files.filter((f) => TEMP_FILE.test(f))) {
    try {
      await unlink(temp);
      report.incompleteRemoved += 1;
    } catch (err) {
      if (!isCode(err, 'ENOENT')) throw err;
    }
  }
  for (const uploads of found.uploads) {
    report.uploadsRemoved += (await readdir(uploads).catch(() => [])).length;
    await rm(uploads, { recursive: true, force: true });
  }
}

/** An object's files by their common stem (`<dir>/<name>` before `._S3rver_…`). */
function groupByObject(files: string[]): Map<string, FileGroup> {
  const groups = new Map<string, FileGroup>();
  for (const file of files) {
    if (TEMP_FILE.test(file) || file.endsWith(COMMIT_SUFFIX)) continue;
    for (const [suffix, field] of [
      [OBJECT_SUFFIX, 'object'],
      [MD5_SUFFIX, 'md5'],
      [METADATA_SUFFIX, 'metadata'],
    ] as const) {
      if (!file.endsWith(suffix)) continue;
      const stem = file.slice(0, -suffix.length);
      const group = groups.get(stem) ?? {};
      group[field] = file;
      groups.set(stem, group);
    }
  }
  return groups;
}

const exists = (path: string | undefined): Promise<boolean> =>
  path === undefined
    ? Promise.resolve(false)
    : stat(path).then(
        () => true,
        () => false,
      );

/** Step 3: every object needs its checksum and metadata (else quarantined); sidecars need their object. */
async function checkObjects(
  bucket: string,
  bucketPath: string,
  files: string[],
  report: StoreRecovery,
): Promise<void> {
  for (const [stem, group] of groupByObject(files)) {
    if (!(await exists(group.object))) {
      for (const sidecar of [group.md5, group.metadata]) {
        if (sidecar === undefined) continue;
        await unlink(sidecar).then(
          () => {
            report.orphansRemoved += 1;
          },
          () => undefined,
        );
      }
      continue;
    }
    const md5Ok = group.md5 !== undefined && (await isValidMd5(group.md5));
    const metadataOk = group.metadata !== undefined && (await isValidMetadata(group.metadata));
    if (md5Ok && metadataOk) continue;
    const target = join(report.lostAndFound, bucket, relative(bucketPath, dirname(stem)));
    await mkdir(target, { recursive: true });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    for (const file of [group.object, group.md5, group.metadata]) {
      if (file === undefined) continue;
      await rename(file, join(target, `${basename(file)}.${stamp}`)).catch((err: unknown) => {
        if (!isCode(err, 'ENOENT')) throw err;
      });
    }
    report.quarantined.push(`${bucket}/${relative(bucketPath, stem).split('\\').join('/')}`);
  }
}

/**
 * Puts a store folder back in order after a crash; run before the server starts (nothing else may write to it).
 * Idempotent: a crash during recovery is recovered on the next start.
 */
export async function recoverStore(
  rootDirectory: string,
  options: AtomicStoreOptions = {},
): Promise<StoreRecovery> {
  const fsync = options.fsync ?? true;
  const report: StoreRecovery = {
    completed: 0,
    incompleteRemoved: 0,
    uploadsRemoved: 0,
    orphansRemoved: 0,
    quarantined: [],
    lostAndFound: join(rootDirectory, LOST_AND_FOUND),
  };
  let buckets: string[];
  try {
    buckets = (await readdir(rootDirectory, { withFileTypes: true }))
      .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
      .map((e) => e.name);
  } catch (err) {
    if (isCode(err, 'ENOENT')) return report;
    throw err;
  }
  for (const bucket of buckets) {
    const bucketPath = join(rootDirectory, bucket);
    const found = { files: [] as string[], uploads: [] as string[] };
    await filesUnder(bucketPath, found);
    await finishCommits(found.files, report, fsync);
    await removeIncomplete(found, report);
    // Listed again: a commit finished in step 1 renamed its body into the object, and the first listing would
    // take that object's sidecars for orphans and remove them (an object served with no metadata).
    const now = { files: [] as string[], uploads: [] as string[] };
    await filesUnder(bucketPath, now);
    await checkObjects(bucket, bucketPath, now.files, report);
  }
  return report;
}
