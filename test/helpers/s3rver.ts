/**
 * A real S3-speaking server for integration tests: s3rver on 127.0.0.1:0 with its data in a fresh temp folder,
 * one bucket created, and an S3Client already pointed at it (path style, checksums only when required).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '../../functions/aws/s3-client.js';
import { type EmbeddedS3, S3RVER_CREDENTIALS, startEmbeddedS3 } from '../../infra/local/embedded-s3.js';

export interface TestS3 {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  bucket: string;
  client: S3Client;
  /** The embedded server (objectPath(key) gives the file on disk). */
  server: EmbeddedS3;
  /** Environment that points the project's own S3 client (createS3Client) at this server. */
  env: Record<string, string>;
  close(): Promise<void>;
}

export const TEST_REGION = 'us-east-1';

export async function startS3rver(options: { bucket?: string } = {}): Promise<TestS3> {
  const bucket = options.bucket ?? 'ekb-archive-test';
  const directory = await mkdtemp(join(tmpdir(), 'ekb-s3rver-'));
  // No fsync: these tests never cut the power, and kill -9 safety does not depend on it (embedded-s3-crash.test.ts).
  const server = await startEmbeddedS3({ directory, bucket, fsync: false });
  const client = createS3Client({
    endpoint: server.endpoint,
    region: TEST_REGION,
    credentials: { ...S3RVER_CREDENTIALS },
    env: {},
  });
  const env = {
    AWS_ENDPOINT_URL_S3: server.endpoint,
    AWS_REGION: TEST_REGION,
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
  };
  return {
    endpoint: server.endpoint,
    bucket,
    client,
    server,
    env,
    async close() {
      client.destroy();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
