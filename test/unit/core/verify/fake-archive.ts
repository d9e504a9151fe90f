/** An in-memory bucket for verify: objects with metadata, an S3 checksum and a version, listed in key order. */
import { createHash } from 'node:crypto';
import type { S3Checksum } from '../../../../functions/core/model/copy-result.js';
import type { ArchiveReader, ObjectHead, ObjectListing } from '../../../../functions/core/ports.js';

export interface FakeObject {
  body: Buffer;
  metadata?: Record<string, string>;
  tags?: Record<string, string>;
  checksum?: S3Checksum;
  versionId?: string;
}

export const sha256Hex = (b: Buffer) => createHash('sha256').update(b).digest('hex');
export const sha256B64 = (b: Buffer) => createHash('sha256').update(b).digest('base64');

export class FakeArchive implements ArchiveReader {
  readonly objects = new Map<string, FakeObject>();
  reads: string[] = [];
  heads = 0;
  pageSize = 1000;

  async head(key: string): Promise<ObjectHead | undefined> {
    this.heads += 1;
    const o = this.objects.get(key);
    if (!o) return undefined;
    return {
      size: o.body.length,
      metadata: { ...o.metadata },
      ...(o.versionId ? { versionId: o.versionId } : {}),
      ...(o.checksum ? { checksum: o.checksum } : {}),
      ...(o.tags ? { tags: o.tags } : {}),
    };
  }

  async read(key: string): Promise<AsyncIterable<Uint8Array>> {
    this.reads.push(key);
    const o = this.objects.get(key);
    if (!o) throw Object.assign(new Error('NoSuchKey'), { name: 'NoSuchKey' });
    const body = o.body;
    return (async function* () {
      yield body.subarray(0, 3);
      yield body.subarray(3);
    })();
  }

  async list(prefix: string, startAfter: string | undefined): Promise<ObjectListing> {
    const keys = [...this.objects.keys()]
      .filter((k) => k.startsWith(prefix) && (startAfter === undefined || k > startAfter))
      .sort();
    const page = keys.slice(0, this.pageSize);
    return {
      objects: page.map((key) => ({ key, size: this.objects.get(key)?.body.length ?? 0 })),
      truncated: keys.length > page.length,
    };
  }
}
