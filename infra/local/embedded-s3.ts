/**
 * The embedded S3: s3rver on 127.0.0.1 with its data in a folder on disk (so archived files survive a restart and
 * can be opened directly), the bucket created on start, and every ObjectCreated turned into the S3 event record
 * AWS would deliver to a Lambda.
 *
 * Writes honour S3's conditional-write headers (If-None-Match: * / If-Match on PutObject and
 * CompleteMultipartUpload: conditional-writes.ts), which s3rver ignores and the copy engine relies on.
 *
 * Crash-safe: s3rver's store is replaced by atomic-store.ts (an object is visible only when whole, with its
 * metadata), the folder is put back in order before the server starts (what a crash left is finished or removed,
 * see `recovery`), and it is locked for this process (data-lock.ts) so no second store recovers it under our feet.
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { S3Event, S3EventRecord } from 'aws-lambda';
import { AtomicFilesystemStore, recoverStore, type StoreRecovery } from './atomic-store.js';
import { requestConditions } from './conditional-writes.js';
import { lockDataFolder } from './data-lock.js';
import { LOCAL_REGION } from './lambda-context.js';

/** s3rver accepts only this key pair unless another is registered (DESIGN.md, known traps). */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

interface S3rverEventRecord {
  eventName: string;
  eventTime: string;
  requestParameters?: { sourceIPAddress?: string };
  s3: { bucket: { name: string }; object: { key: string; size?: number; eTag?: string; sequencer?: string } };
}

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  listen(port: number, address: string, options: object): Promise<Server>;
  /** Koa's request handler. */
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  logger?: { exceptions?: { unhandle(): void }; close?(): void };
  close(): Promise<void>;
  on(event: 'event', listener: (event: { Records: S3rverEventRecord[] }) => void): void;
  on(event: 'error', listener: (error: unknown) => void): void;
  httpServer?: Server;
  store: { getResourcePath(bucket: string, key: string, resource: string): string };
  context: { store: unknown };
  /** Koa's middleware chain, composed when the server starts listening. */
  middleware: Array<
    (ctx: { headers: Record<string, string | string[] | undefined> }, next: () => Promise<unknown>) => unknown
  >;
}
type S3rverConstructor = new (options: Record<string, unknown>) => S3rverInstance;

// s3rver ships no types; one local shape covers the few members used here.
const require = createRequire(import.meta.url);

export interface EmbeddedS3Options {
  /** Folder holding the buckets (created when missing). */
  directory: string;
  bucket: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  region?: string;
  /** Called for every object created in the bucket (any key; filter by prefix yourself). */
  onObjectCreated?: (event: S3Event) => void;
  /**
   * fsync every write (default true). Without it `kill -9` still never shows a partial object; a power cut may
   * lose the last writes. Benchmarks that measure the functions, not the disk, may turn it off.
   */
  fsync?: boolean;
}

export interface EmbeddedS3 {
  /** http://127.0.0.1:<port>: what AWS_ENDPOINT_URL_S3 should be. */
  readonly endpoint: string;
  readonly port: number;
  readonly bucket: string;
  readonly directory: string;
  /** What the start found left by a crash and put in order (all zero after a clean stop). */
  readonly recovery: StoreRecovery;
  /** The file on disk holding an object's bytes. */
  objectPath(key: string): string;
  close(): Promise<void>;
}

/** S3 notifications carry the key URL-encoded as a form value ("red flower.jpg" → "red+flower.jpg"). */
export function encodeEventKey(key: string): string {
  return encodeURIComponent(key).replace(/%2F/g, '/').replace(/%20/g, '+');
}

/** The record AWS delivers (event version 2.1), from what s3rver reports. */
export function toS3EventRecord(
  raw: S3rverEventRecord,
  region: string = LOCAL_REGION,
): S3EventRecord | undefined {
  // s3rver reports a completed multipart upload as "Post"; S3 calls it CompleteMultipartUpload.
  const names: Record<string, string> = {
    'ObjectCreated:Put': 'ObjectCreated:Put',
    'ObjectCreated:Copy': 'ObjectCreated:Copy',
    'ObjectCreated:Post': 'ObjectCreated:CompleteMultipartUpload',
  };
  const eventName = names[raw.eventName];
  if (!eventName) return undefined;
  const bucket = raw.s3.bucket.name;
  const object: S3EventRecord['s3']['object'] = {
    key: encodeEventKey(raw.s3.object.key),
    size: raw.s3.object.size ?? 0,
    eTag: raw.s3.object.eTag ?? '',
    sequencer: raw.s3.object.sequencer ?? Date.now().toString(16).toUpperCase(),
  };
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: region,
    eventTime: raw.eventTime,
    eventName,
    userIdentity: { principalId: 'AWS:AIDALOCALSTACKCALLER' },
    requestParameters: { sourceIPAddress: raw.requestParameters?.sourceIPAddress ?? '127.0.0.1' },
    responseElements: {
      'x-amz-request-id': Math.random().toString(16).slice(2, 18).toUpperCase(),
      'x-amz-id-2': 'local',
    },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'ekb-archive-manifests',
      bucket: { name: bucket, ownerIdentity: { principalId: 'LOCAL' }, arn: `arn:aws:s3:::${bucket}` },
      object,
    },
  };
}

/**
 * s3rver's own listen() never settles when the port is taken: the error is an unhandled 'error' event that ends the
 * process with a stack trace. This one does what s3rver's does for plain http, and rejects with the error (its
 * `code` EADDRINUSE and `port`), so `npm start` can say which port in one line.
 */
function listenOrReject(server: S3rverInstance): S3rverInstance['listen'] {
  return (port, address, options) =>
    new Promise((resolve, reject) => {
      const http = createServer();
      http.on('request', server.callback()).on('close', () => {
        server.logger?.exceptions?.unhandle();
        server.logger?.close?.();
      });
      http.once('error', reject);
      http.listen({ ...options, port, host: address }, () => {
        http.off('error', reject);
        resolve(http);
      });
    });
}

export async function startEmbeddedS3(options: EmbeddedS3Options): Promise<EmbeddedS3> {
  const S3rver = require('s3rver') as S3rverConstructor;
  const storeOptions = { fsync: options.fsync ?? true };
  const lock = lockDataFolder(options.directory);
  let recovery: StoreRecovery;
  let server: S3rverInstance;
  try {
    recovery = await recoverStore(options.directory, storeOptions);
    server = new S3rver({
      address: options.host ?? '127.0.0.1',
      port: options.port ?? 0,
      directory: options.directory,
      silent: true,
      configureBuckets: [{ name: options.bucket }],
    });
    const conditions = requestConditions();
    // First in the chain, so every store call a request makes can read that request's conditions.
    server.middleware.unshift(conditions.middleware);
    // s3rver reads its store from both places (the app and every request's context).
    const store = new AtomicFilesystemStore(options.directory, {
      ...storeOptions,
      conditions: conditions.current,
    });
    server.store = store;
    server.context.store = store;
    server.listen = listenOrReject(server);
  } catch (err) {
    lock.release();
    throw err;
  }
  server.on('event', (event) => {
    if (!options.onObjectCreated) return;
    for (const raw of event.Records) {
      if (raw.s3.bucket.name !== options.bucket) continue;
      const record = toS3EventRecord(raw, options.region);
      if (record) options.onObjectCreated({ Records: [record] });
    }
  });
  let address: AddressInfo;
  try {
    address = await server.run();
  } catch (err) {
    lock.release();
    throw err;
  }
  const http = server.httpServer;
  let closing: Promise<void> | undefined;
  return {
    endpoint: `http://${address.address}:${address.port}`,
    port: address.port,
    bucket: options.bucket,
    directory: options.directory,
    recovery,
    objectPath: (key) => server.store.getResourcePath(options.bucket, key, 'object'),
    close() {
      closing ??= (async () => {
        const closed = server.close();
        // The SDK keeps sockets alive; without this close() waits for them to time out.
        http?.closeIdleConnections();
        setTimeout(() => http?.closeAllConnections(), 2_000).unref();
        try {
          await closed;
        } finally {
          lock.release();
        }
      })();
      return closing;
    },
  };
}
