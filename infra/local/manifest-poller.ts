/**
 * With a real bucket (EKB_BUCKET), S3 cannot notify this machine: `manifests/` is listed every few seconds and each
 * new object becomes the S3 event the notification would have carried, queued for fan-out (fan-out-queues.ts).
 *
 * Durable like the queues: the objects already handed over and the moment this data folder started watching the
 * bucket live in the stack's queue database, and an object is marked seen in the same transaction that queues its
 * event, so after a crash or a stop nothing is handed over twice and nothing uploaded meanwhile is missed (manifests
 * older than the first poll are never picked up: they may belong to the deployed stack's fan-out).
 */
import { HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { S3Event } from 'aws-lambda';
import { encodeEventKey } from './embedded-s3.js';
import { LOCAL_REGION } from './lambda-context.js';
import { openQueueDatabase } from './queue-database.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS manifest_poll_since (bucket TEXT PRIMARY KEY, since INTEGER NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS manifest_poll_seen (
  bucket TEXT NOT NULL,
  key TEXT NOT NULL,
  etag TEXT NOT NULL,
  last_modified INTEGER NOT NULL,
  PRIMARY KEY (bucket, key, etag, last_modified)
) STRICT;
`;
/** The name the poller holds the shared database connection under (queue-database.ts counts its users). */
const USER = 'manifest-poller';

export interface ManifestPollerOptions {
  s3: S3Client;
  bucket: string;
  prefix: string;
  intervalMs: number;
  /** The stack's queue database file. */
  database: string;
  /** Queues the event (synchronously, on the same database: it joins the transaction that marks it seen). */
  deliver: (event: S3Event) => void;
  say: (line: string) => void;
}

export interface ManifestPoller {
  /** Hands over a manifest this process just uploaded, at once (and marks it seen). */
  deliverNow(key: string): Promise<void>;
  /** One listing now (the timer does it every intervalMs). */
  poll(): Promise<void>;
  stop(): void;
}

export function startManifestPoller(options: ManifestPollerOptions): ManifestPoller {
  const { s3, bucket, prefix } = options;
  const database = openQueueDatabase(options.database);
  database.attach(USER);
  database.db.exec(SCHEMA);
  // LastModified has one-second precision: an upload in the first second of the first poll must still count.
  database.db
    .prepare('INSERT OR IGNORE INTO manifest_poll_since (bucket, since) VALUES (?, ?)')
    .run(bucket, Math.floor(Date.now() / 1000) * 1000 - 1000);
  const since = (
    database.db.prepare('SELECT since FROM manifest_poll_since WHERE bucket = ?').get(bucket) as {
      since: number;
    }
  ).since;
  const seen = database.db.prepare(
    'SELECT 1 AS hit FROM manifest_poll_seen WHERE bucket = ? AND key = ? AND etag = ? AND last_modified = ?',
  );
  const mark = database.db.prepare(
    'INSERT OR IGNORE INTO manifest_poll_seen (bucket, key, etag, last_modified) VALUES (?, ?, ?, ?)',
  );
  let stopped = false;

  const handOver = (key: string, size: number, eTag: string, lastModified: number): void => {
    if (stopped) return;
    database.transaction(() => {
      if (seen.get(bucket, key, eTag, lastModified)) return;
      mark.run(bucket, key, eTag, lastModified);
      options.deliver(manifestEvent(bucket, key, size, eTag, lastModified));
    });
  };

  let busy = false;
  let warned = false;
  const poll = async (): Promise<void> => {
    if (busy || stopped) return;
    busy = true;
    try {
      let token: string | undefined;
      do {
        const page = await s3.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        );
        for (const o of page.Contents ?? []) {
          const modified = o.LastModified?.getTime() ?? 0;
          if (!o.Key || o.Key.endsWith('/') || modified < since) continue;
          handOver(o.Key, o.Size ?? 0, (o.ETag ?? '').replace(/"/g, ''), modified);
        }
        token = page.NextContinuationToken;
      } while (token);
      warned = false;
    } catch (err) {
      if (!warned) options.say(`manifest poll of s3://${bucket}/${prefix} failed: ${(err as Error).name}`);
      warned = true;
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void poll(), options.intervalMs);
  timer.unref();
  return {
    async deliverNow(key) {
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      handOver(
        key,
        head.ContentLength ?? 0,
        (head.ETag ?? '').replace(/"/g, ''),
        head.LastModified?.getTime() ?? Date.now(),
      );
    },
    poll,
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      database.detach(USER);
    },
  };
}

/**
 * The S3 event record for a manifest seen in a real bucket. Its sequencer comes from the object's LastModified, so
 * the same upload always makes the same event (and fan-out the same job id).
 */
export function manifestEvent(
  bucket: string,
  key: string,
  size: number,
  eTag: string,
  lastModified: number,
): S3Event {
  return {
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: process.env.AWS_REGION ?? LOCAL_REGION,
        eventTime: new Date(lastModified).toISOString(),
        eventName: 'ObjectCreated:Put',
        userIdentity: { principalId: 'AWS:local' },
        requestParameters: { sourceIPAddress: '127.0.0.1' },
        responseElements: { 'x-amz-request-id': 'local', 'x-amz-id-2': 'local' },
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: 'ekb-archive-manifests',
          bucket: { name: bucket, ownerIdentity: { principalId: 'local' }, arn: `arn:aws:s3:::${bucket}` },
          object: {
            key: encodeEventKey(key),
            size,
            eTag,
            sequencer: lastModified.toString(16).toUpperCase().padStart(16, '0'),
          },
        },
      },
    ],
  };
}
