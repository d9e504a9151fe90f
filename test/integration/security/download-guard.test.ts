/**
 * The download guard over real sockets: the copy handler built by depsFromConfig refuses signed URLs that lead
 * off the allow-list (no request reaches the other host), does not follow redirects, and the guarded Agent's
 * connect-time lookup refuses a listed name that resolves to a loopback address (DNS rebinding).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { Context, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { compose } from '../../../functions/compose/composition.js';
import { copyHandlerDeps } from '../../../functions/compose/copy.js';
import { loadConfig } from '../../../functions/config.js';
import type { CopyHandlerDeps } from '../../../functions/copy/handler.js';
import { createHandler } from '../../../functions/copy/handler.js';
import { createUndiciDownloader } from '../../../functions/core/copy/undici-downloader.js';
import type { BatchMessage, BatchReport } from '../../../functions/core/model/batch.js';
import { type DownloadUrlResolver, silentLogger } from '../../../functions/core/ports.js';
import {
  createDownloadGuard,
  DOWNLOAD_HOST_NOT_ALLOWED,
} from '../../../functions/core/security/download-guard.js';
import { type BaseLookup, createGuardedAgent } from '../../../functions/core/security/guarded-agent.js';
import { startEkuaibaoSandbox } from '../../../infra/local/sandbox/server.js';
import type { EkuaibaoSandbox } from '../../../infra/local/sandbox/types.js';
import { startS3rver, type TestS3 } from '../../helpers/s3rver.js';

const JOB = '20260306T040000Z-0000000000000001';
const FILE = { id: 'guard0001', key: 'openapi-guard-0001-report.pdf', fileName: 'report.pdf', size: 4096 };

/** A server that only counts what reaches it (the "outside" host) or answers every GET with a redirect. */
async function startCounter(
  host: string,
  redirectTo?: string,
): Promise<{ url: string; hits: () => number; close(): Promise<void> }> {
  let hits = 0;
  const server: Server = createServer((req, res) => {
    hits += 1;
    if (redirectTo) {
      res.writeHead(302, { location: redirectTo });
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '2' });
    res.end('ok');
    req.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    hits: () => hits,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const context = () => ({ awsRequestId: 'r', getRemainingTimeInMillis: () => 300_000 }) as unknown as Context;

function eventFor(batchId: string, prefix: string): SQSEvent {
  const message: BatchMessage = {
    v: 1,
    jobId: JOB,
    batchId,
    refs: [{ id: FILE.id, key: FILE.key }],
    keyTemplate: `${prefix}/{fileId}/{fileName}`,
  };
  return {
    Records: [
      {
        messageId: `m-${batchId}`,
        receiptHandle: 'h',
        body: JSON.stringify(message),
        attributes: {
          ApproximateReceiveCount: '1',
          SentTimestamp: '0',
          SenderId: 'x',
          ApproximateFirstReceiveTimestamp: '0',
        },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:q',
        awsRegion: 'us-east-1',
      },
    ],
  };
}

let s3: TestS3;
let outside: EkuaibaoSandbox;

function depsFor(sandbox: EkuaibaoSandbox, prefix: string): CopyHandlerDeps {
  const config = loadConfig({
    EKB_BASE_URL: sandbox.baseUrl,
    EKB_APP_KEY: sandbox.appKey,
    EKB_APP_SECURITY: sandbox.appSecurity,
    EKB_BUCKET: s3.bucket,
    EKB_REPORT_PREFIX: `${prefix}-reports/`,
    // The messages' templates write under `${prefix}/`: an archive lane of this deployment.
    EKB_ARCHIVE_PREFIXES: prefix,
    // The local stack's settings: loopback http allowed, the default vendor list still applies.
    EKB_ALLOW_INSECURE_DOWNLOADS: 'true',
  });
  return {
    ...copyHandlerDeps(compose(config, { logger: silentLogger })),
    sleep: async () => {},
    metrics: () => {},
  };
}

async function reportOf(prefix: string, batchId: string): Promise<BatchReport> {
  const { GetObjectCommand } = await import('@aws-sdk/client-s3');
  const out = await s3.client.send(
    new GetObjectCommand({ Bucket: s3.bucket, Key: `${prefix}-reports/${JOB}/batches/${batchId}.json` }),
  );
  return JSON.parse((await out.Body?.transformToString('utf-8')) ?? '') as BatchReport;
}

async function objectsUnder(prefix: string): Promise<string[]> {
  const out = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${prefix}/` }));
  return (out.Contents ?? []).map((o) => o.Key as string);
}

beforeAll(async () => {
  // The sandbox on 127.0.0.2 hands out download URLs on 127.0.0.2: loopback, but not on the list.
  [s3, outside] = await Promise.all([
    startS3rver(),
    startEkuaibaoSandbox({ host: '127.0.0.2', files: [FILE], forms: [] }),
  ]);
  for (const [k, v] of Object.entries(s3.env)) vi.stubEnv(k, v);
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await Promise.all([s3?.close(), outside?.close()]);
});

describe('download guard in the copy handler', () => {
  it('fails a ref whose URL leads off the allow-list with download_host_not_allowed and never GETs it', async () => {
    const out = await createHandler(depsFor(outside, 'off-list'))(eventFor('b00001', 'off-list'), context());

    // Permanent: nothing to hand back to the queue.
    expect(out.batchItemFailures).toEqual([]);
    const report = await reportOf('off-list', 'b00001');
    expect(report.final).toBe(true);
    expect(report.results).toEqual([
      expect.objectContaining({
        status: 'failed',
        id: FILE.id,
        code: DOWNLOAD_HOST_NOT_ALLOWED,
        retryable: false,
        message: 'download host 127.0.0.2 is not allowed: not on the allow-list',
      }),
    ]);
    // The URL was resolved (the API answered) but no download request reached the outside host.
    expect(outside.stats.downloadUrlCalls).toBe(1);
    expect(outside.stats.downloadsStarted).toBe(0);
    expect(await objectsUnder('off-list')).toEqual([]);
  });

  it('does not follow a redirect: a 3xx fails the ref permanently and the target records no request', async () => {
    const target = await startCounter('127.0.0.2');
    const redirector = await startCounter('127.0.0.1', `${target.url}/stolen?Signature=x`);
    try {
      const resolver: DownloadUrlResolver = {
        async resolveDownloadUrls(refs) {
          return refs.map((r) => ({
            status: 'resolved' as const,
            id: r.id,
            key: r.key,
            url: `${redirector.url}/file.pdf?Signature=abc`,
            expiresAt: Date.now() + 1_800_000,
          }));
        },
      };
      const deps = { ...depsFor(outside, 'redirect'), resolver };
      const out = await createHandler(deps)(eventFor('b00002', 'redirect'), context());

      expect(out.batchItemFailures).toEqual([]);
      const [result] = (await reportOf('redirect', 'b00002')).results;
      expect(result).toMatchObject({ status: 'failed', code: 'download_http_302', retryable: false });
      expect(redirector.hits()).toBe(1);
      expect(target.hits()).toBe(0);
      expect(await objectsUnder('redirect')).toEqual([]);
    } finally {
      await Promise.all([target.close(), redirector.close()]);
    }
  });
});

describe('createGuardedAgent (connect-time lookup)', () => {
  // A listed name whose DNS answer turned into a loopback address after checkUrl looked (DNS rebinding).
  const rebinding: BaseLookup = (_host, _options, callback) =>
    callback(null, [{ address: '127.0.0.1', family: 4 }]);

  it('refuses to connect when a listed name resolves to a loopback address in strict mode', async () => {
    const server = await startCounter('127.0.0.1');
    const guard = createDownloadGuard({ allowedHosts: ['*.aliyuncs.com'], allowInsecure: false });
    const downloader = createUndiciDownloader({
      dispatcher: createGuardedAgent({ guard, lookup: rebinding }),
    });
    const port = new URL(server.url).port;
    try {
      const attempt = downloader.get(`http://files.aliyuncs.com:${port}/x`, {
        signal: AbortSignal.timeout(5_000),
      });
      await expect(attempt).rejects.toMatchObject({ code: DOWNLOAD_HOST_NOT_ALLOWED });
      expect(server.hits()).toBe(0);
    } finally {
      await server.close();
    }
  });

  it('connects through the same lookup when the address is allowed (insecure mode, loopback)', async () => {
    const server = await startCounter('127.0.0.1');
    const guard = createDownloadGuard({ allowedHosts: ['*.aliyuncs.com'], allowInsecure: true });
    const downloader = createUndiciDownloader({
      dispatcher: createGuardedAgent({ guard, lookup: rebinding }),
    });
    const port = new URL(server.url).port;
    try {
      const res = await downloader.get(`http://files.aliyuncs.com:${port}/x`, {
        signal: AbortSignal.timeout(5_000),
      });
      expect(res.status).toBe(200);
      await res.dump?.();
      expect(server.hits()).toBe(1);
    } finally {
      await server.close();
    }
  });

  it('refuses "localhost" through the real system resolver in strict mode', async () => {
    const server = await startCounter('127.0.0.1');
    const guard = createDownloadGuard({ allowedHosts: ['localhost'], allowInsecure: false });
    const downloader = createUndiciDownloader({ dispatcher: createGuardedAgent({ guard }) });
    const port = new URL(server.url).port;
    try {
      const attempt = downloader.get(`http://localhost:${port}/x`, { signal: AbortSignal.timeout(5_000) });
      await expect(attempt).rejects.toMatchObject({ code: DOWNLOAD_HOST_NOT_ALLOWED });
      expect(server.hits()).toBe(0);
    } finally {
      await server.close();
    }
  });
});
