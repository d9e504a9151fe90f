/**
 * `npm start`, after start.ts made sure of the OpenSSL legacy provider: starts the local stack, archives the
 * demo files end to end when the sandbox is the upstream (a manifest uploaded into manifests/ → S3 event →
 * fan-out → queue → copy) and the demo forms as form packages (one scheduled-sync tick), prints where the files
 * and one package are and the job reports, then serves the API until Ctrl-C.
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';

import type { CopyResult } from '../../functions/core/model/copy-result.js';
import type { JobStatus } from '../../functions/core/model/job.js';
import type { PackageIndex } from '../../functions/core/model/package.js';
import { createLogger, type LogLevel } from '../../functions/logger.js';
import { formatBytes } from './cli/progress.js';
import { type LocalOptions, loadLocalOptions } from './local-options.js';
import { type LocalStack, startLocalStack } from './local-stack.js';
import { demoFiles } from './sandbox/demo-data.js';

const write = (line = '') => process.stdout.write(`${line}\n`);

function banner(stack: LocalStack, options: LocalOptions): string[] {
  const lines = ['', 'ekb-archive local stack is running', ''];
  if (stack.upstream.kind === 'sandbox') {
    lines.push(
      `  合思       SANDBOX at ${stack.upstream.baseUrl} (demo tenant: EKB_APP_KEY / EKB_APP_SECURITY are not set)`,
    );
  } else {
    lines.push(`  合思       ${stack.upstream.baseUrl} (your tenant)`);
  }
  if (stack.embedded) {
    lines.push(
      `  S3         ${stack.embedded.endpoint}  bucket ${stack.bucket}  (embedded, access key S3RVER/S3RVER)`,
    );
    lines.push(`  files      ${stack.embedded.directory}`);
  } else {
    lines.push(
      `  S3         s3://${stack.bucket} (real bucket via the AWS SDK's settings; manifests/ polled)`,
    );
  }
  lines.push(`  API        ${stack.apiUrl}`);
  lines.push(
    `  queue      ${stack.queue.name}: ${options.copyWorkers} copy workers, visibility ${options.visibilityTimeoutMs / 1000} s, ` +
      `${stack.config.maxReceiveCount} receives then ${stack.queue.name}-dlq`,
  );
  lines.push(
    `  schedule   ${options.scheduleExpression ?? 'off (set EKB_LOCAL_SCHEDULE=rate(1 hour) to sync on a timer)'}`,
  );
  lines.push('');
  return lines;
}

function curlExamples(stack: LocalStack): string[] {
  const [file] = demoFiles();
  const body = JSON.stringify([{ id: file?.id, key: file?.key, expiration: 1800 }]);
  const s3env = stack.embedded
    ? `AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1 AWS_ENDPOINT_URL_S3=${stack.embedded.endpoint} `
    : '';
  return [
    'Try it:',
    `  curl -s ${stack.apiUrl}/attachments/download-urls -H 'content-type: application/json' \\`,
    `    --data-raw '${body.replace(/'/g, "'\\''")}'`,
    `  curl -s ${stack.apiUrl}/copy-jobs -H 'content-type: application/json' \\`,
    `    --data-raw '{"refs":[{"id":"${file?.id}","key":"${file?.key?.replace(/'/g, "'\\''")}"}]}'`,
    `  curl -s ${stack.apiUrl}/copy-jobs/<jobId>`,
    `  curl -s ${stack.apiUrl}/form-archives -H 'content-type: application/json' --data-raw '{"codes":["B26000001"]}'`,
    `  curl -s ${stack.apiUrl}/_local/queues          # queue, DLQ and fan-out failures (local only)`,
    `  ${s3env}aws s3 cp manifest.jsonl s3://${stack.bucket}/manifests/`,
    '',
    'Ctrl-C stops everything.',
  ];
}

interface DemoOutcome {
  ok: boolean;
}

function printJob(stack: LocalStack, title: string, status: JobStatus, results: CopyResult[]): void {
  const t = status.totals;
  write(
    `${title} ${status.jobId}: ${status.state}: ${t.refs} refs, ${t.copied} copied (${formatBytes(t.bytes)}), ` +
      `${t.skipped} skipped (already archived), ${t.failed} failed, ${t.pending} pending`,
  );
  if (status.packages) {
    // A package job lists its packages (folders) and what did not land, not every file.
    for (const r of results) {
      if (r.key === 'package.json' && r.status !== 'failed') {
        write(`    package  ${r.objectKey.slice(0, -'package.json'.length)}`);
      }
      if (r.status === 'failed') write(`    failed   ${r.id} ${r.key}  ${r.code}: ${r.message}`);
    }
    for (const h of status.packages.heldForms) write(`    held     ${h.code}: ${h.reason}`);
    write(`    report: GET ${stack.apiUrl}/copy-jobs/${encodeURIComponent(status.jobId)}`);
    return;
  }
  for (const r of results) {
    if (r.status === 'failed') write(`    failed   ${r.id}  ${r.code}: ${r.message}`);
    else
      write(
        `    ${r.status.padEnd(8)} ${r.objectKey}${r.status === 'copied' ? `  (${formatBytes(r.bytes)})` : ''}`,
      );
  }
  write(`    report: GET ${stack.apiUrl}/copy-jobs/${encodeURIComponent(status.jobId)}`);
}

/**
 * Both ways work reaches the queue: a manifest upload (S3 event → fan-out) with every demo file, and one tick of
 * the scheduled sync over the demo forms (EventBridge event → fan-out → getApplyList → one job per window).
 */
async function runDemo(stack: LocalStack): Promise<DemoOutcome> {
  const started = new Date().toISOString();
  const files = demoFiles();
  const manifest = `${files.map((f) => JSON.stringify({ id: f.id, key: f.key, fileName: f.fileName })).join('\n')}\n`;
  const name = `demo-${started.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}.jsonl`;
  write(
    `demo 1/2: manifest of the sandbox's ${files.length} demo files → s3://${stack.bucket}/manifests/${name}`,
  );
  write('          (S3 event → fan-out → queue → copy)');
  write(
    `demo 2/2: one scheduled-sync tick over the sandbox's demo forms (since ${stack.config.syncStartDate ?? 'the watermark'})`,
  );
  write(
    `          (EventBridge event → fan-out → 合思 getApplyList → form packages (${stack.config.syncMode}) → queue → copy)`,
  );
  const key = await stack.putManifest(name, manifest);
  await stack.schedule.fireNow();
  await stack.settled();

  let ok = true;
  write('');
  const manifestJob = await stack.functions.jobForManifest(stack.bucket, key);
  if (!manifestJob) {
    write('manifest job: fan-out did not create one (see the log above)');
    ok = false;
  } else {
    const status = await stack.functions.jobStatus(manifestJob.jobId);
    if (status) printJob(stack, 'manifest job', status, await stack.functions.jobResults(manifestJob.jobId));
    ok &&= status?.state === 'done';
  }
  const syncJobs = (await stack.functions.jobRecords()).filter(
    (r) => r.source.kind === 'schedule' && r.createdAt >= started,
  );
  if (syncJobs.length === 0) {
    write('sync: no forms changed since the last run (the watermark is kept in the bucket: sync/state.json)');
  }
  for (const record of syncJobs) {
    const status = await stack.functions.jobStatus(record.jobId);
    if (!status) continue;
    const source = record.source as { windowStart: string; windowEnd: string };
    printJob(
      stack,
      `sync job (${source.windowStart} → ${source.windowEnd})`,
      status,
      await stack.functions.jobResults(record.jobId),
    );
    ok &&= status.state === 'done';
  }
  await printPackage(
    stack,
    syncJobs.length > 0 ? await stack.functions.jobResults(syncJobs[0]?.jobId as string) : [],
  );
  if (stack.embedded) {
    write('');
    write(`The files are objects in s3://${stack.bucket}; on disk each is a file under`);
    write(`  ${stack.embedded.directory}/${stack.bucket}/<key>._S3rver_object`);
    write(
      `e.g. ${stack.embedded.objectPath(manifestJob ? `attachments/${files[0]?.id}/${files[0]?.fileName}` : '')}`,
    );
  }
  write('');
  return { ok };
}

/** One form package of the demo: its folder, its objects and what its index says (README "Form packages"). */
async function printPackage(stack: LocalStack, results: CopyResult[]): Promise<void> {
  const indexKey = results
    .map((r) => (r.status === 'copied' && r.key === 'package.json' ? r.objectKey : undefined))
    .find((k): k is string => k?.includes('/expense/') === true);
  if (!indexKey) return;
  // forms/<formType>/<flowCode>/<version>/package.json → forms/<formType>/<flowCode>/
  const root = `${indexKey.split('/').slice(0, 3).join('/')}/`;
  const listing = await stack.s3.send(new ListObjectsV2Command({ Bucket: stack.bucket, Prefix: root }));
  const index = await stack.functions.store.getJson<PackageIndex>(indexKey);
  write('');
  write(`A form package: s3://${stack.bucket}/${root}`);
  for (const o of listing.Contents ?? [])
    write(`    ${(o.Key as string).slice(root.length)}  (${formatBytes(o.Size ?? 0)})`);
  if (index) {
    const roles = [...new Set(index.files.map((f) => f.role))].join(', ');
    write(
      `  its index ${indexKey.slice(root.length)}: complete ${index.complete}, ${index.files.length} files (${roles}), ` +
        `form ${index.form.code} ${index.form.title ?? ''} (${index.form.state}), ${index.approval.length} approval steps`,
    );
  }
  if (stack.embedded) write(`  on disk: ${stack.embedded.objectPath(indexKey)}`);
}

export async function runLocal(argv: readonly string[]): Promise<number> {
  let options: LocalOptions;
  try {
    options = loadLocalOptions(process.env, argv);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  const level = (process.env.LOG_LEVEL?.trim().toLowerCase() || 'warn') as LogLevel;
  const logger = createLogger({ level, service: 'local' });

  let stack: LocalStack;
  try {
    stack = await startLocalStack({ env: process.env, options, logger, say: write });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { port?: number };
    if (e.code === 'EADDRINUSE') {
      process.stderr.write(
        `port ${e.port ?? ''} is in use: set EKB_LOCAL_API_PORT / EKB_LOCAL_S3_PORT to free ports (0 = any)\n`,
      );
      return 2;
    }
    process.stderr.write(`the local stack could not start: ${e.message}\n`);
    return e.name === 'ValidationError' ? 2 : 1;
  }

  let stopping: Promise<void> | undefined;
  let firstSignalAt = 0;
  let resolveStopped: () => void = () => {};
  const stopped = new Promise<void>((resolve) => {
    resolveStopped = resolve;
  });
  const stop = (why: string) => {
    if (stopping) {
      // A terminal's Ctrl-C can arrive twice (once via the launcher); a later one means "now".
      if (Date.now() - firstSignalAt > 1_000) process.exit(130);
      return;
    }
    firstSignalAt = Date.now();
    write(`\n${why}: stopping the API, queue, S3 and sandbox…`);
    stopping = stack.close().then(() => resolveStopped());
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  // Started by start.ts: if that parent dies, do not linger. The channel itself must not keep the process up.
  process.channel?.unref();
  process.on('disconnect', () => stop('parent exited'));

  for (const line of banner(stack, options)) write(line);

  // The demo's files and forms exist only in the sandbox; against a tenant it would sync real forms.
  if (options.demo === true && stack.upstream.kind !== 'sandbox') {
    write('demo skipped: it runs against the built-in sandbox only (unset EKB_APP_KEY / EKB_APP_SECURITY)');
  }
  const demo = stack.upstream.kind === 'sandbox' && options.demo !== false;
  let demoOk = true;
  if (demo) {
    try {
      demoOk = (await runDemo(stack)).ok;
    } catch (err) {
      if (!stopping) write(`demo failed: ${(err as Error).message}`);
      demoOk = false;
    }
  }
  if (options.exitAfterDemo) {
    if (!stopping) {
      stopping = stack.close().then(() => resolveStopped());
    }
    await stopped;
    process.removeAllListeners('disconnect');
    return demoOk ? 0 : 1;
  }
  if (!stopping) for (const line of curlExamples(stack)) write(line);
  await stopped;
  process.removeAllListeners('disconnect');
  write('stopped.');
  return 0;
}
