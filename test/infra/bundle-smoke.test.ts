/**
 * Bundle smoke test: each function built with the stack's own bundling constants (infra/bundling.ts) into a real
 * `.mjs` file, imported natively from that file by a plain Node process (lambda-invoke.mjs) the way the Lambda
 * runtime does, and invoked with a whole fixture event
 * against the 合思 sandbox (and s3rver for the bucket). Catches what unit tests cannot: a missing createRequire
 * banner, a dependency that does not survive bundling, ESM/CJS interop, minified class names.
 */

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE, entryPath, esbuildOptions, type FunctionName, NODE_OPTIONS } from '../../infra/bundling.js';
import { startEkuaibaoSandbox } from '../../infra/local/sandbox/server.js';
import type { EkuaibaoSandbox } from '../../infra/local/sandbox/types.js';
import { startS3rver, type TestS3 } from '../helpers/s3rver.js';

const FIXTURES = new URL('../fixtures/events/', import.meta.url);
const fixture = <T>(name: string): T => JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8')) as T;

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

/**
 * The least SQS endpoint fan-out needs: SendMessageBatch over the SDK's JSON protocol, answering with the body
 * MD5s the SDK checks, and keeping every message body for the test.
 */
async function startQueueEndpoint(): Promise<{
  url: string;
  queueUrl: string;
  bodies: string[];
  server: Server;
}> {
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target']);
      if (target === 'AmazonSQS.SendMessage') {
        // One message (the verify queue's parts).
        const { MessageBody } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { MessageBody: string };
        bodies.push(MessageBody);
        const md5 = createHash('md5').update(MessageBody, 'utf8').digest('hex');
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
        res.end(JSON.stringify({ MessageId: `smoke-${bodies.length}`, MD5OfMessageBody: md5 }));
        return;
      }
      if (target !== 'AmazonSQS.SendMessageBatch') {
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
        res.end(JSON.stringify({ __type: 'com.amazonaws.sqs#InvalidAction', message: target }));
        return;
      }
      const input = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        Entries: Array<{ Id: string; MessageBody: string }>;
      };
      const successful = input.Entries.map((e) => {
        bodies.push(e.MessageBody);
        const md5 = createHash('md5').update(e.MessageBody, 'utf8').digest('hex');
        return { Id: e.Id, MessageId: `smoke-${bodies.length}`, MD5OfMessageBody: md5 };
      });
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(JSON.stringify({ Successful: successful, Failed: [] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, queueUrl: `${url}/123456789012/ekb-archive-copy`, bodies, server };
}

const outDir = mkdtempSync(join(tmpdir(), 'ekb-bundles-'));
const DRIVER = fileURLToPath(new URL('./lambda-invoke.mjs', import.meta.url));
/** The functions' environment (functions/config.ts reads it), set once the servers are up. */
let functionEnv: Record<string, string> = {};

const built = new Map<FunctionName, Promise<string>>();

/** Builds one function exactly as the stack does (once) into a real `.mjs` file; returns its path. */
function bundle(name: FunctionName): Promise<string> {
  let pending = built.get(name);
  if (!pending) {
    pending = (async () => {
      const file = join(outDir, `${name}${BUNDLE.outExtension}`);
      await build(esbuildOptions(entryPath(name), file));
      return file;
    })();
    built.set(name, pending);
  }
  return pending;
}

/**
 * Invokes a bundled handler in a fresh plain-Node process (see lambda-invoke.mjs): native ESM loading, the
 * function's environment and NODE_OPTIONS as deployed, nothing from the test runner.
 */
async function invoke<T>(name: FunctionName, event: unknown, remainingMs: number): Promise<T> {
  const file = await bundle(name);
  const resultFile = join(outDir, `${name}-${Date.now()}-result.json`);
  const child = spawn(process.execPath, [DRIVER, file, resultFile], {
    env: { PATH: process.env.PATH ?? '', NODE_OPTIONS, ...functionEnv },
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString('utf8');
  });
  child.stdin.end(JSON.stringify({ event, remainingMs, name }));
  const [code] = (await once(child, 'exit')) as [number | null];
  expect(code, `${name} exited: ${stderr.slice(-2000)}`).toBe(0);
  const outcome = JSON.parse(readFileSync(resultFile, 'utf8')) as {
    ok: boolean;
    result?: T;
    error?: { name: string; message: string; stack: string };
  };
  if (!outcome.ok) throw new Error(`${name} handler threw ${outcome.error?.name}: ${outcome.error?.message}`);
  return outcome.result as T;
}

let sandbox: EkuaibaoSandbox;
let s3: TestS3;
let queue: Awaited<ReturnType<typeof startQueueEndpoint>>;

beforeAll(async () => {
  sandbox = await startEkuaibaoSandbox({ files: [], forms: [] });
  s3 = await startS3rver();
  queue = await startQueueEndpoint();
  functionEnv = {
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
    AWS_ENDPOINT_URL_SQS: queue.url,
    EKB_QUEUE_URL: queue.queueUrl,
    EKB_VERIFY_QUEUE_URL: `${queue.url}/123456789012/ekb-archive-verify`,
  };
});

afterAll(async () => {
  await sandbox?.close();
  await s3?.close();
  await new Promise((resolve) => queue?.server.close(resolve));
  rmSync(outDir, { recursive: true, force: true });
});

describe('resolve bundle', () => {
  it('is an ESM file with the createRequire banner and a linked source map', async () => {
    const file = await bundle('resolve');
    const text = readFileSync(file, 'utf8');
    expect(BUNDLE.banner).toContain('createRequire(import.meta.url)');
    expect(text.startsWith(BUNDLE.banner)).toBe(true);
    expect(text).toMatch(/\/\/# sourceMappingURL=resolve\.mjs\.map\s*$/);
    expect(statSync(`${file}.map`).size).toBeGreaterThan(0);
  });

  it('answers the API Gateway v2 fixture with 200 and working download URLs from the sandbox', async () => {
    const event = fixture<{ body: string }>('api-gateway-v2-download-urls.json');
    const refs = JSON.parse(event.body) as Array<{ id: string; key: string }>;
    registerFiles(refs);

    const res = await invoke<{ statusCode: number; body: string }>('resolve', event, 29_000);

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
    const event = fixture<{ Records: Array<{ messageId: string; body: string }> }>('sqs-copy-batch.json');
    const messages = event.Records.map(
      (r) =>
        JSON.parse(r.body) as { jobId: string; batchId: string; refs: Array<{ id: string; key: string }> },
    );
    registerFiles(messages.flatMap((m) => m.refs));

    const res = await invoke<{ batchItemFailures: unknown[] }>('copy', event, 120_000);

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

describe('fan-out, copy and jobs-api bundles together', () => {
  it('turn an uploaded manifest into archived files and a job reported done', async () => {
    const refs = [
      { id: 'smokeManifestA01', key: 'openapi11111111-2222-4333-8444-555555555555-报销单 A.pdf' },
      { id: 'smokeManifestB02', key: 'openapi66666666-7777-4888-9999-000000000000-receipt-b.png' },
    ];
    registerFiles(refs);
    const s3Event = fixture<{
      Records: Array<{ s3: { bucket: { name: string }; object: { key: string } } }>;
    }>('s3-object-created.json');
    const record = s3Event.Records[0]!;
    expect(record.s3.bucket.name).toBe(s3.bucket);
    const manifestKey = decodeURIComponent(record.s3.object.key.replace(/\+/g, ' '));
    await s3.client.send(
      new PutObjectCommand({
        Bucket: s3.bucket,
        Key: manifestKey,
        Body: `id,key\n${refs.map((r) => `${r.id},${r.key}`).join('\n')}\n`,
      }),
    );

    // fan-out: the S3 fixture → one job, its batch on the queue.
    const fanned = await invoke<{
      jobs: Array<{ jobId: string; created: boolean; refs: number; batches: number; badLines: number }>;
    }>('fan-out', s3Event, 300_000);
    expect(fanned.jobs).toHaveLength(1);
    const job = fanned.jobs[0]!;
    expect(job).toMatchObject({ created: true, refs: 2, batches: 1, badLines: 0 });
    expect(queue.bodies).toHaveLength(1);

    // copy: the queued message, delivered as SQS would (envelope from the SQS fixture).
    const template = fixture<{ Records: Array<Record<string, unknown>> }>('sqs-copy-batch.json').Records[0]!;
    const sqsEvent = {
      Records: queue.bodies.map((body, i) => ({ ...template, messageId: `queued-${i}`, body })),
    };
    const copied = await invoke<{ batchItemFailures: unknown[] }>('copy', sqsEvent, 120_000);
    expect(copied.batchItemFailures).toEqual([]);

    // jobs-api: GET /copy-jobs/{jobId} (the GET fixture, pointed at this job).
    const get = fixture<{
      rawPath: string;
      pathParameters: Record<string, string>;
      requestContext: { http: { path: string } };
    }>('api-gateway-v2-copy-jobs-get.json');
    get.pathParameters.jobId = job.jobId;
    get.rawPath = `/copy-jobs/${job.jobId}`;
    get.requestContext.http.path = get.rawPath;
    const res = await invoke<{ statusCode: number; body: string }>('jobs-api', get, 29_000);
    expect(res.statusCode).toBe(200);
    const status = JSON.parse(res.body) as { jobId: string; state: string; totals: Record<string, number> };
    expect(status.jobId).toBe(job.jobId);
    expect(status.state).toBe('done');
    expect(status.totals).toMatchObject({ refs: 2, copied: 2, failed: 0, pending: 0 });
    smokeJobId = job.jobId;
  });
});

let smokeJobId: string | undefined;

describe('jobs-api and verify bundles together', () => {
  it('start a verify run of the job, check its files in one part, and answer ok', async () => {
    expect(smokeJobId).toBeDefined();
    const post = fixture<Record<string, unknown> & { requestContext: { http: { path: string } } }>(
      'api-gateway-v2-copy-jobs-post.json',
    );
    post.routeKey = 'POST /verify-jobs';
    post.rawPath = '/verify-jobs';
    post.requestContext.http.path = '/verify-jobs';
    post.body = JSON.stringify({ jobId: smokeJobId });
    post.isBase64Encoded = false;
    const before = queue.bodies.length;
    const started = await invoke<{ statusCode: number; body: string }>('jobs-api', post, 29_000);
    expect(started.statusCode, started.body).toBe(202);
    const { runId } = JSON.parse(started.body) as { runId: string };
    expect(queue.bodies.length).toBe(before + 1);

    const template = fixture<{ Records: Array<Record<string, unknown>> }>('sqs-copy-batch.json').Records[0]!;
    const part = { Records: [{ ...template, messageId: 'verify-1', body: queue.bodies.at(-1) }] };
    const verified = await invoke<{ batchItemFailures: unknown[] }>('verify', part, 120_000);
    expect(verified.batchItemFailures).toEqual([]);

    const get = fixture<Record<string, unknown> & { requestContext: { http: { path: string } } }>(
      'api-gateway-v2-copy-jobs-get.json',
    );
    get.routeKey = 'GET /verify-jobs/{runId}';
    get.pathParameters = { runId };
    get.rawPath = `/verify-jobs/${runId}`;
    get.requestContext.http.path = get.rawPath as string;
    const res = await invoke<{ statusCode: number; body: string }>('jobs-api', get, 29_000);
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ state: 'ok', parts: 1, totals: { checked: 2, ok: 2 } });
  });
});

describe('jobs-api, fan-out and copy bundles archive a form package', () => {
  it('turn POST /form-archives into a complete package and a job reported done', async () => {
    sandbox.putForm({
      id: 'ID_smokePkg01',
      code: 'B26009001',
      formType: 'expense',
      state: 'paid',
      updateTime: Date.UTC(2026, 2, 2),
      form: {
        title: '打包冒烟',
        submitterId: 'sandbox:u001',
        attachments: [
          { fileId: 'smokePkgFile1', key: 'openapi-smoke-说明.pdf', fileName: '说明.pdf', size: 7_000 },
        ],
        details: [
          {
            feeTypeId: 'fee',
            feeTypeForm: {
              invoiceForm: { invoices: [{ invoiceId: 'smoke::26000000000000000001', itemIds: [] }] },
            },
          },
        ],
      },
      logs: [],
    });
    sandbox.addInvoice({
      id: 'smoke::26000000000000000001',
      type: 'invoice',
      itemIds: [],
      number: '26000000000000000001',
      source: 'upload',
      region: [],
      file: { key: 'smoke-invoice-1772400000000-1.xml', fileName: 'smoke-invoice.xml', size: 3_000 },
    });
    sandbox.putReceipts('ID_smokePkg01', [{ key: 'smoke-receipt-MzAw.pdf', size: 5_000 }]);

    // jobs-api: the POST /form-archives fixture, asking for this form.
    const post = fixture<{ body: string }>('api-gateway-v2-form-archives-post.json');
    post.body = JSON.stringify({ codes: ['B26009001'] });
    const accepted = await invoke<{ statusCode: number; body: string }>('jobs-api', post, 29_000);
    expect(accepted.statusCode).toBe(202);
    const { jobId } = JSON.parse(accepted.body) as { jobId: string };

    // fan-out: S3's notification of the stored request.
    const before = queue.bodies.length;
    const s3Event = fixture<{ Records: Array<{ s3: { object: { key: string } } }> }>(
      's3-object-created.json',
    );
    s3Event.Records[0]!.s3.object.key = encodeURIComponent(`manifests/form-archives/${jobId}.json`);
    const fanned = await invoke<{ jobs: Array<{ jobId: string; created: boolean; refs: number }> }>(
      'fan-out',
      s3Event,
      300_000,
    );
    expect(fanned.jobs).toEqual([expect.objectContaining({ jobId, created: true, refs: 7 })]);

    // copy: the package's message.
    const template = fixture<{ Records: Array<Record<string, unknown>> }>('sqs-copy-batch.json').Records[0]!;
    const bodies = queue.bodies.slice(before);
    const sqsEvent = { Records: bodies.map((body, i) => ({ ...template, messageId: `pkg-${i}`, body })) };
    expect(
      (await invoke<{ batchItemFailures: unknown[] }>('copy', sqsEvent, 120_000)).batchItemFailures,
    ).toEqual([]);

    const index = JSON.parse(
      await (
        await s3.client.send(
          new GetObjectCommand({
            Bucket: s3.bucket,
            Key: 'forms/expense/B26009001/20260302T000000.000Z/package.json',
          }),
        )
      ).Body!.transformToString(),
    ) as { complete: boolean; files: Array<{ role: string; objectKey: string }> };
    expect(index.complete).toBe(true);
    expect(index.files.map((f) => f.role).sort()).toEqual(['body', 'invoice', 'invoice-original', 'receipt']);
    for (const f of index.files.filter((x) => x.role === 'receipt')) {
      const object = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: f.objectKey }));
      const digest = createHash('sha256')
        .update(await object.Body!.transformToByteArray())
        .digest('hex');
      expect(digest).toBe(await sandbox.objectSha256('smoke-receipt-MzAw.pdf'));
    }

    const get = fixture<{
      rawPath: string;
      pathParameters: Record<string, string>;
      requestContext: { http: { path: string } };
    }>('api-gateway-v2-copy-jobs-get.json');
    get.pathParameters.jobId = jobId;
    get.rawPath = `/copy-jobs/${jobId}`;
    get.requestContext.http.path = get.rawPath;
    const res = await invoke<{ statusCode: number; body: string }>('jobs-api', get, 29_000);
    expect(JSON.parse(res.body)).toMatchObject({
      state: 'done',
      totals: { refs: 7, failed: 0, pending: 0 },
      packages: { queued: 1 },
    });
  });
});
