/**
 * Where a bench child finds the 合思 sandbox and s3rver, and the two clients every child builds from it: the
 * 合思 client with the sandbox's app key, and the S3 client with s3rver's key pair (DESIGN.md, known traps).
 */
import { createS3Client } from '../../functions/aws/s3-client.js';
import { createEkuaibaoClient, type EkuaibaoClient } from '../../functions/core/ekuaibao/client.js';

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
