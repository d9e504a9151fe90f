/**
 * The ReportStore port on S3: job records and batch reports as small JSON objects in the bucket; and the TextStore
 * port beside it (per-batch file indexes and verify findings as JSON lines).
 */
import {
  GetObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { AppError, type ErrorCode } from '../core/errors.js';
import type { ReportStore, TextStore } from '../core/ports.js';

function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

function nameOf(err: unknown): string | undefined {
  return (err as { name?: string } | null)?.name;
}

function storeError(code: ErrorCode, message: string, cause: unknown): AppError {
  // S3 hiccups (throttling, 5xx, network) are worth another try by the caller or the event source.
  return new AppError(code, message, { retryable: true, status: 503, cause });
}

export interface S3ReportStoreOptions {
  client: Pick<S3Client, 'send'>;
  bucket: string;
}

/** `createS3ReportStore(client, bucket)` or `createS3ReportStore({client, bucket})`. */
export function createS3ReportStore(options: S3ReportStoreOptions): ReportStore;
export function createS3ReportStore(client: Pick<S3Client, 'send'>, bucket: string): ReportStore;
export function createS3ReportStore(
  clientOrOptions: Pick<S3Client, 'send'> | S3ReportStoreOptions,
  bucketArg?: string,
): ReportStore {
  const { client, bucket } =
    'client' in clientOrOptions ? clientOrOptions : { client: clientOrOptions, bucket: bucketArg as string };
  return {
    async putJson(key, value) {
      try {
        await client.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: JSON.stringify(value),
            ContentType: 'application/json',
          }),
        );
      } catch (err) {
        throw storeError('report_write_failed', `could not write s3://${bucket}/${key}`, err);
      }
    },

    async getJson<T>(key: string): Promise<T | undefined> {
      let text: string;
      try {
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        text = out.Body ? await out.Body.transformToString('utf-8') : '';
      } catch (err) {
        if (nameOf(err) === 'NoSuchKey' || statusOf(err) === 404) return undefined;
        throw storeError('report_read_failed', `could not read s3://${bucket}/${key}`, err);
      }
      try {
        return JSON.parse(text) as T;
      } catch {
        throw new AppError('report_invalid', `s3://${bucket}/${key} is not valid JSON`, { retryable: false });
      }
    },

    list: (prefix) => listKeys(client, bucket, prefix),
  };
}

/** Every key under `prefix`, all pages, in key order (S3 lists in UTF-8 binary order). */
async function listKeys(client: Pick<S3Client, 'send'>, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    let out: ListObjectsV2CommandOutput;
    try {
      out = await client.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: prefix,
          ...(token === undefined ? {} : { ContinuationToken: token }),
        }),
      );
    } catch (err) {
      throw storeError('report_list_failed', `could not list s3://${bucket}/${prefix}`, err);
    }
    for (const o of out.Contents ?? []) if (o.Key !== undefined) keys.push(o.Key);
    token = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (token !== undefined);
  return keys;
}

/** Text objects (JSON lines) in the bucket's system lanes. */
export function createS3TextStore({ client, bucket }: S3ReportStoreOptions): TextStore {
  return {
    async putText(key, text, contentType) {
      try {
        await client.send(
          new PutObjectCommand({ Bucket: bucket, Key: key, Body: text, ContentType: contentType }),
        );
      } catch (err) {
        throw storeError('report_write_failed', `could not write s3://${bucket}/${key}`, err);
      }
    },

    async getText(key) {
      try {
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return out.Body ? await out.Body.transformToString('utf-8') : '';
      } catch (err) {
        if (nameOf(err) === 'NoSuchKey' || statusOf(err) === 404) return undefined;
        throw storeError('report_read_failed', `could not read s3://${bucket}/${key}`, err);
      }
    },

    list: (prefix) => listKeys(client, bucket, prefix),
  };
}
