/**
 * Section 9's measured case, in the bench child: one run of the scheduled sync's core over the generated forms —
 * `files` (the JSON walk: attachments only) or `packages` (form packages) — with its jobs queued in-process and
 * every message copied by the copy function's own engine (runBatchMessage, the package runner included), two
 * messages in flight as the CLI runs them. The parent counts what the 合思 sandbox was asked.
 */
import pLimit from 'p-limit';
import { createS3ReportStore, createS3TextStore } from '../../functions/aws/s3-report-store.js';
import { createS3Sink } from '../../functions/aws/s3-sink.js';
import { buildLanes, DEFAULT_ARCHIVE_LANES } from '../../functions/core/attachments/lanes.js';
import { runBatchMessage } from '../../functions/core/copy/run-batch.js';
import { createUndiciDownloader } from '../../functions/core/copy/undici-downloader.js';
import { refsJobStarter } from '../../functions/core/jobs/create-job.js';
import type { BatchMessage } from '../../functions/core/model/batch.js';
import { archivedIn } from '../../functions/core/packages/form-archive-job.js';
import { createPackageJob } from '../../functions/core/packages/package-job.js';
import { createPackageRunner } from '../../functions/core/packages/run-packages.js';
import { DEFAULT_PACKAGE_STATES } from '../../functions/core/packages/states.js';
import { silentLogger } from '../../functions/core/ports.js';
import { runSync } from '../../functions/core/sync/run-sync.js';
import { createMemoryVersionedStore } from '../../functions/core/sync/versioned-store.js';
import { type BenchEnv, ekuaibaoClientFor } from './bench-env.js';

export interface FormsTask {
  kind: 'forms';
  env: BenchEnv;
  mode: 'files' | 'packages';
  startDate: string;
  /** The sync's clock (epoch ms): just after the last generated form. */
  nowMs: number;
  /** Where files-mode objects and every job report go. */
  prefix: string;
}

export interface FormsResult {
  ms: number;
  cpuMs: number;
  forms: number;
  packages: number;
  refs: number;
  copied: number;
  skipped: number;
  failed: number;
  bytes: number;
  messages: number;
  vmHwm: number;
}

export async function runForms(
  task: FormsTask,
  s3: Parameters<typeof createS3Sink>[0]['client'],
  vmHwm: () => number,
  cpuSince: (start: NodeJS.CpuUsage) => number,
): Promise<FormsResult> {
  const { env } = task;
  const client = ekuaibaoClientFor(env);
  const downloader = createUndiciDownloader();
  const store = createS3ReportStore({ client: s3, bucket: env.bucket });
  const reportPrefix = `bench/${task.prefix}/jobs/`;
  const keyTemplate = `bench/${task.prefix}/files/{formType}/{flowCode}/{fileId}-{fileName}`;
  // The bucket's lanes as the stack would configure them for this template beside the default ones (form packages go
  // to forms/): issue 12 refuses writes outside them, and the archive lane must not hold the report prefix.
  const { lanes } = buildLanes({
    templates: [keyTemplate],
    extraArchive: DEFAULT_ARCHIVE_LANES,
    reportPrefix,
  });
  const messages: BatchMessage[] = [];
  const queue = { sendBatches: async (batch: BatchMessage[]) => void messages.push(...batch) };
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  const summary = await runSync(
    {
      mode: task.mode,
      startDate: task.startDate,
      formTypes: ['expense'],
      pagePauseMs: 0,
      keyTemplate,
    },
    {
      forms: client,
      state: createMemoryVersionedStore(),
      now: () => task.nowMs,
      startJob: refsJobStarter({ queue, store, reportPrefix }),
      startPackageJob: async (input) => {
        const forms = (async function* () {
          for await (const form of input.forms) yield { form };
        })();
        const { record } = await createPackageJob(
          { jobId: input.jobId, source: input.source, forms, recordEmpty: false },
          {
            plan: { source: client, states: DEFAULT_PACKAGE_STATES, archived: archivedIn(store) },
            queue,
            store,
            reportPrefix,
          },
        );
        return {
          jobId: record?.jobId,
          refs: record?.counts.refs ?? 0,
          queued: record?.packages?.queued ?? 0,
          held: record?.packages?.held ?? 0,
          unchanged: record?.packages?.unchanged ?? 0,
        };
      },
    },
  );
  const deps = {
    resolver: client,
    formFiles: client,
    packages: createPackageRunner({ source: client }),
    sink: createS3Sink({ client: s3, bucket: env.bucket }),
    downloader,
    logger: silentLogger,
    reports: store,
    index: createS3TextStore({ client: s3, bucket: env.bucket }),
    reportPrefix,
    defaultKeyTemplate: 'bench/unused/{fileId}',
    lanes,
    concurrency: 4,
  };
  const tally = { copied: 0, skipped: 0, failed: 0, bytes: 0 };
  await pLimit(2).map(messages, async (message) => {
    const out = await runBatchMessage({ message, attempt: 1, maxReceiveCount: 1 }, deps);
    tally.copied += out.summary.copied;
    tally.skipped += out.summary.skipped;
    tally.failed += out.summary.failed;
    tally.bytes += out.summary.bytes;
  });
  const ms = performance.now() - started;
  const cpuMs = cpuSince(cpu0);
  await Promise.all([client.close(), downloader.close()]);
  return {
    ms,
    cpuMs,
    forms: summary.forms,
    packages: summary.packages,
    refs: summary.refs,
    ...tally,
    messages: messages.length,
    vmHwm: vmHwm(),
  };
}
