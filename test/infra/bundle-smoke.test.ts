/**
 * Bundle smoke test: each function built with the stack's own bundling constants (infra/bundling.ts) into a real
 * `.mjs` file, imported from that file the way the Lambda runtime does, and invoked with a whole fixture event
 * against the 合思 sandbox (and s3rver for the bucket). Catches what unit tests cannot: a missing createRequire
 * banner, a dependency that does not survive bundling, ESM/CJS interop, minified class names.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE, entryPath, esbuildOptions, type FunctionName } from '../../infra/bundling.js';
import { startEkuaibaoSandbox } from '../../infra/local/sandbox/server.js';
import type { EkuaibaoSandbox } from '../../infra/local/sandbox/types.js';
import { startS3rver, type TestS3 } from '../helpers/s3rver.js';

type Handler = (event: unknown, context: Context) => Promise<unknown>;

const FIXTURES = new URL('../fixtures/events/', import.meta.url);
const fixture = <T>(name: string): T => JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8')) as T;

function lambdaContext(name: string, remainingMs: number): Context {
  const deadline = Date.now() + remainingMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: `ekb-archive-${name}`,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:ap-east-1:123456789012:function:ekb-archive-${name}`,
    memoryLimitInMB: '1769',
    awsRequestId: `smoke-${name}-0001`,
    logGroupName: `/aws/lambda/ekb-archive-${name}`,
    logStreamName: '2025/06/23/[$LATEST]0123456789abcdef',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** The original name inside a storage key: DP: keys carry JSON, ordinary keys are `openapi<uuid>-<name>`. */
function fileNameOf(key: string): string {
  if (key.startsWith('DP:')) return (JSON.parse(key.slice(3)) as { fileName: string }).fileName;
  return key.replace(/^openapi[0-9a-f-]{36}-/, '');
}

/** Puts refs into the sandbox as files (DP: keys with the size their JSON announces). */
function registerFiles(refs: Array<{ id: string; key: string }>): void {
  refs.forEach((ref, i) => {
    const dp = ref.key.startsWith('DP:') ? (JSON.parse(ref.key.slice(3)) as { fileSize: number }) : undefined;
    sandbox.addFile({
      id: ref.id,
      key: ref.key,
      fileName: fileNameOf(ref.key),
      size: dp?.fileSize ?? 10_000 + i * 4_321,
    });
  });
}

const outDir = mkdtempSync(join(tmpdir(), 'ekb-bundles-'));
const savedEnv = { ...process.env };

const built = new Map<FunctionName, Promise<{ handler: Handler; file: string }>>();

/** Builds one function exactly as the stack does (once) and imports the bundle from its real file. */
function buildAndImport(name: FunctionName): Promise<{ handler: Handler; file: string }> {
  let pending = built.get(name);
  if (!pending) {
    pending = (async () => {
      const file = join(outDir, `${name}${BUNDLE.outExtension}`);
      await build(esbuildOptions(entryPath(name), file));
      const mod = (await import(pathToFileURL(file).href)) as { handler?: Handler };
      expect(typeof mod.handler, `${name} exports handler`).toBe('function');
      return { handler: mod.handler!, file };
    })();
    built.set(name, pending);
  }
  return pending;
}

let sandbox: EkuaibaoSandbox;
let s3: TestS3;

beforeAll(async () => {
  sandbox = await startEkuaibaoSandbox({ files: [], forms: [] });
  s3 = await startS3rver();
  // Config is read from process.env (functions/config.ts), as in Lambda; set it before any bundle is imported.
  Object.assign(process.env, {
    EKB_BASE_URL: sandbox.baseUrl,
    EKB_APP_KEY: sandbox.appKey,
    EKB_APP_SECURITY: sandbox.appSecurity,
    // The sandbox serves downloads over http on 127.0.0.1, which deployed functions never accept.
    EKB_ALLOW_INSECURE_DOWNLOADS: 'true',
    EKB_ALLOWED_DOWNLOAD_HOSTS: '127.0.0.1',
    LOG_LEVEL: 'warn',
    // AWS_ENDPOINT_URL_S3, region and the s3rver credentials for the functions' own S3 client.
    ...s3.env,
    EKB_BUCKET: s3.bucket,
  });
});

afterAll(async () => {
  await sandbox?.close();
  await s3?.close();
  for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
  Object.assign(process.env, savedEnv);
  rmSync(outDir, { recursive: true, force: true });
});

describe('resolve bundle', () => {
  it('is an ESM file with the createRequire banner and a linked source map', async () => {
    const { file } = await buildAndImport('resolve');
    const text = readFileSync(file, 'utf8');
    expect(text.startsWith(BUNDLE.banner)).toBe(true);
    expect(text).toMatch(/\/\/# sourceMappingURL=resolve\.mjs\.map\s*$/);
    expect(statSync(`${file}.map`).size).toBeGreaterThan(0);
  });

  it('answers the API Gateway v2 fixture with 200 and working download URLs from the sandbox', async () => {
    const { handler } = await buildAndImport('resolve');
    const event = fixture<{ body: string }>('api-gateway-v2-download-urls.json');
    const refs = JSON.parse(event.body) as Array<{ id: string; key: string }>;
    registerFiles(refs);

    const res = (await handler(event, lambdaContext('resolve', 29_000))) as {
      statusCode: number;
      body: string;
      headers: Record<string, string>;
    };

    expect(res.statusCode).toBe(200);
    const items = JSON.parse(res.body) as Array<{ id: string; key: string; url: string; headers?: object }>;
    expect(items.map((i) => i.id)).toEqual(refs.map((r) => r.id));
    for (const item of items) expect(item.url.startsWith(sandbox.baseUrl)).toBe(true);

    // Each URL (with its headers, for DP: keys) really downloads the file's bytes.
    for (const item of items) {
      const download = await fetch(item.url, { headers: (item.headers ?? {}) as Record<string, string> });
      expect(download.status).toBe(200);
      const digest = createHash('sha256')
        .update(Buffer.from(await download.arrayBuffer()))
        .digest('hex');
      expect(digest).toBe(await sandbox.sha256(item.id));
    }
  });
});

describe('copy bundle', () => {
  it('copies the SQS fixture batch into the bucket and reports every ref as copied', async () => {
    const { handler } = await buildAndImport('copy');
    const event = fixture<{ Records: Array<{ messageId: string; body: string }> }>('sqs-copy-batch.json');
    const messages = event.Records.map(
      (r) =>
        JSON.parse(r.body) as { jobId: string; batchId: string; refs: Array<{ id: string; key: string }> },
    );
    registerFiles(messages.flatMap((m) => m.refs));

    const res = (await handler(event, lambdaContext('copy', 120_000))) as {
      batchItemFailures: Array<{ itemIdentifier: string }>;
    };

    expect(res.batchItemFailures).toEqual([]);
    for (const m of messages) {
      const report = JSON.parse(
        await (
          await s3.client.send(
            new GetObjectCommand({ Bucket: s3.bucket, Key: `jobs/${m.jobId}/batches/${m.batchId}.json` }),
          )
        ).Body!.transformToString(),
      ) as { final: boolean; results: Array<{ status: string; id: string; objectKey: string }> };
      expect(report.results.map((r) => [r.id, r.status])).toEqual(m.refs.map((r) => [r.id, 'copied']));
      // Every archived object holds exactly the source bytes.
      for (const result of report.results) {
        const object = await s3.client.send(
          new GetObjectCommand({ Bucket: s3.bucket, Key: result.objectKey }),
        );
        const bytes = await object.Body!.transformToByteArray();
        expect(createHash('sha256').update(bytes).digest('hex')).toBe(await sandbox.sha256(result.id));
      }
    }
  });
});
