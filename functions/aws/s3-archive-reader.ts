/** The ArchiveReader port on S3, for verify: HEAD with checksum mode, GetObject bodies, ListObjectsV2 pages. */
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { ArchiveReader, Logger, ObjectListing } from '../core/ports.js';
import { headWithProof } from './s3-integrity.js';

export function createS3ArchiveReader(options: {
  client: S3Client;
  bucket: string;
  logger?: Logger;
}): ArchiveReader {
  const { client, bucket } = options;
  return {
    head: (key, signal) => headWithProof(client, { bucket, key }, signal, options.logger),

    async read(key, signal) {
      const out = await client.send(
        new GetObjectCommand({ Bucket: bucket, Key: key }),
        signal ? { abortSignal: signal } : {},
      );
      return (out.Body ?? (async function* () {})()) as AsyncIterable<Uint8Array>;
    },

    async list(prefix, startAfter, signal): Promise<ObjectListing> {
      const out = await client.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: prefix,
          ...(startAfter === undefined ? {} : { StartAfter: startAfter }),
        }),
        signal ? { abortSignal: signal } : {},
      );
      return {
        objects: (out.Contents ?? [])
          .filter((o) => o.Key !== undefined)
          .map((o) => ({ key: o.Key as string, size: o.Size ?? 0 })),
        truncated: out.IsTruncated === true,
      };
    },
  };
}
