/**
 * `npm start`, after start.ts made sure of the OpenSSL legacy provider: starts the local stack, archives the
 * demo files end to end when the sandbox is the upstream (a manifest uploaded into manifests/ → S3 event →
 * fan-out → queue → copy) and the demo forms as form packages (one scheduled-sync tick), prints where the files
 * and one package are and the job reports, then serves the API until Ctrl-C.
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { AppError, ValidationError } from '../../functions/core/errors.js';
import type { CopyResult } from '../../functions/core/model/copy-result.js';
import type { JobStatus } from '../../functions/core/model/job.js';
import type { PackageIndex } from '../../functions/core/model/package.js';
import { createLogger, type LogLevel } from '../../functions/logger.js';
import { formatBytes } from './cli/progress.js';
import { S3_EVENT_RETRIES, SCHEDULE_RETRIES } from './fan-out-queues.js';
import { type LocalOptions, loadLocalOptions } from './local-options.js';
import { type LocalStack, type StackRecovery, startLocalStack } from './local-stack.js';
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
    `  fan-out    ${stack.fanOut.manifests.name} (S3 events, ${S3_EVENT_RETRIES + 1} tries) and ${stack.fanOut.schedule.name} (${SCHEDULE_RETRIES + 1} tries), then their -dlq`,
  );
  lines.push(
    `  on disk    ${stack.queueDatabase} (every queue, its receive counts and DLQ: they survive kill -9)`,
  );
  lines.push(
    `  schedule   ${options.scheduleExpression ?? 'off (set EKB_LOCAL_SCHEDULE=rate(1 hour) to sync on a timer)'}`,
  );
  lines.push(`  recovered  ${describeRecovery(stack.recovery)}`);
  lines.push('');
  return lines;
}

/** What the start took up from the previous run: the queues' unfinished work and the store's repairs. */
export function describeRecovery(r: StackRecovery): string {
  const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
  const interrupted = (q: { interrupted: number }) =>
    q.interrupted > 0 ? ` (${q.interrupted} interrupted)` : '';
  const parts = [
    `${plural(r.batches.messages, 'batch', 'batches')}${interrupted(r.batches)}`,
    `${plural(r.manifestEvents.messages, 'manifest event')}${interrupted(r.manifestEvents)}`,
    `${plural(r.scheduleEvents.messages, 'scheduled sync')}${interrupted(r.scheduleEvents)}`,
  ];
  let line = `${parts.join(', ')} to finish`;
  if (r.store) {
    const s = r.store;
    const repaired = [
      s.completed > 0 ? `${plural(s.completed, 'write')} finished` : '',
      s.incompleteRemoved > 0 ? `${plural(s.incompleteRemoved, 'unfinished write')} removed` : '',
      s.uploadsRemoved > 0 ? `${plural(s.uploadsRemoved, 'multipart upload')} dropped` : '',
      s.orphansRemoved > 0 ? `${plural(s.orphansRemoved, 'stray file')} removed` : '',
      s.quarantined.length > 0
        ? `${plural(s.quarantined.length, 'damaged object')} moved to ${s.lostAndFound}`
        : '',
    ].filter(Boolean);
    line += `; store: ${repaired.length > 0 ? repaired.join(', ') : 'clean'}`;
  }
  if (r.staleSyncLock) line += `; sync lock of stopped run ${r.staleSyncLock.runId} released`;
  return line;
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
  const outcomesBefore = stack.syncOutcomes.length;
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
  // The sync's own outcome, not a guess from the job records: a run that failed or found the lock held says so.
  const outcome = stack.syncOutcomes.slice(outcomesBefore).at(-1);
  if (outcome === undefined) {
    write('sync: the scheduled run did not finish (see the lines above)');
    ok = false;
  } else if ('error' in outcome) {
    write(`sync: FAILED: ${outcome.error}`);
    ok = false;
  } else {
    // Its line was printed as the run ended.
    ok &&= outcome.summary.status !== 'skipped_locked';
  }
  const syncJobs = (await stack.functions.jobRecords()).filter(
    (r) => r.source.kind === 'schedule' && r.createdAt >= started,
  );
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

/** `npm start`'s exit codes (README, "Quick start"). */
export const START_EXIT = { ok: 0, demoFailed: 1, badSettings: 2, cannotStart: 3, interrupted: 130 } as const;

/** One line for anything that stops the stack from starting, and its exit code. */
export function explainStartError(
  err: unknown,
  options: LocalOptions,
): { message: string; exitCode: number } {
  const e = err as NodeJS.ErrnoException & { port?: number };
  if (e?.code === 'EADDRINUSE' || e?.code === 'EACCES') {
    const ports: Array<[number, string]> = [
      [options.apiPort, 'EKB_LOCAL_API_PORT'],
      [options.s3Port, 'EKB_LOCAL_S3_PORT'],
      [options.sandboxPort, 'EKB_LOCAL_SANDBOX_PORT'],
    ];
    const key = ports.find(([port]) => port !== 0 && port === e.port)?.[1];
    const what =
      e.code === 'EADDRINUSE' ? 'is in use (is another `npm start` running?)' : 'may not be opened';
    return {
      message: `port ${e.port ?? '?'} on ${options.host} ${what}: set ${key ?? 'EKB_LOCAL_API_PORT / EKB_LOCAL_S3_PORT / EKB_LOCAL_SANDBOX_PORT'} to a free port (0 = any)`,
      exitCode: START_EXIT.cannotStart,
    };
  }
  if (err instanceof ValidationError) return { message: err.message, exitCode: START_EXIT.badSettings };
  if (err instanceof AppError) return { message: err.message, exitCode: START_EXIT.cannotStart };
  const text = err instanceof Error ? err.message : String(err);
  return { message: `the local stack could not start: ${text}`, exitCode: START_EXIT.cannotStart };
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
    const { message, exitCode } = explainStartError(err, options);
    process.stderr.write(`npm start: ${message}\n`);
    return exitCode;
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
