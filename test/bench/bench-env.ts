/**
 * Where a bench child finds the 合思 sandbox and s3rver, and the two clients every child builds from it: the
 * 合思 client with the sandbox's app key, and the S3 client with s3rver's key pair (DESIGN.md, known traps); and
 * the copy engine wired from them as the copy function wires it.
 */
import { createS3Client } from '../../functions/aws/s3-client.js';
import { createS3Sink } from '../../functions/aws/s3-sink.js';
import type { CopyDeps } from '../../functions/core/copy/copy-batch.js';
import { createUndiciDownloader } from '../../functions/core/copy/undici-downloader.js';
import { createEkuaibaoClient, type EkuaibaoClient } from '../../functions/core/ekuaibao/client.js';
import { silentLogger } from '../../functions/core/ports.js';
import { PART_QUEUE_SIZE } from './inputs.js';

export interface BenchEnv {
  ekbBaseUrl: string;
  appKey: string;
  appSecurity: string;
  s3Endpoint: string;
  bucket: string;
}

export function ekuaibaoClientFor(env: BenchEnv): EkuaibaoClient {
  return createEkuaibaoClient({
    baseUrl: env.ekbBaseUrl,
    credentials: () => ({ appKey: env.appKey, appSecurity: env.appSecurity }),
  });
}

export function s3ClientFor(env: BenchEnv) {
  return createS3Client({
    endpoint: env.s3Endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    env: {},
  });
}

/** copyBatch's collaborators against the sandbox and s3rver; close() ends their connections. */
export function copyEngineFor(env: BenchEnv): {
  deps: CopyDeps;
  client: EkuaibaoClient;
  close(): Promise<void>;
} {
  const client = ekuaibaoClientFor(env);
  const s3 = s3ClientFor(env);
  const downloader = createUndiciDownloader();
  const deps: CopyDeps = {
    resolver: client,
    sink: createS3Sink({ client: s3, bucket: env.bucket, queueSize: PART_QUEUE_SIZE }),
    downloader,
    logger: silentLogger,
  };
  return {
    deps,
    client,
    async close() {
      await Promise.all([downloader.close(), client.close()]);
      s3.destroy();
    },
  };
}
