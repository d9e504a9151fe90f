/**
 * One copy-queue message, start to finish: copy the batch, decide whether this attempt is final, and write the
 * batch report. The handler only maps SQS records in and partial-batch failures out.
 */
import { fallbackLanes, type Lanes } from '../attachments/lanes.js';
import { ErrorCode } from '../errors.js';
import { writeBatchIndex } from '../jobs/file-index.js';
import { batchReportKey } from '../jobs/keys.js';
import type { BatchMessage, BatchReport } from '../model/batch.js';
import { type CopyResult, tallyResults } from '../model/copy-result.js';
import type { ReportStore, TextStore } from '../ports.js';
import { type CopyDeps, type CopyStats, copyBatch, newCopyStats } from './copy-batch.js';
import { failed } from './copy-failure.js';
import type { TransferSlots } from './transfer-slots.js';

/**
 * Runs a message that carries form packages: their files through the copy engine, then each package's form.json,
 * print PDF and index (core/packages/, wired in by the composition root). One result per ref, in order.
 */
export type PackageBatchRunner = (
  message: BatchMessage,
  run: { attempt: number; maxReceiveCount: number; signal?: AbortSignal; stats: CopyStats },
  deps: RunBatchDeps,
) => Promise<CopyResult[]>;

export interface RunBatchDeps extends CopyDeps {
  reports: ReportStore;
  /** Where the batch's file index goes (`jobs/<jobId>/index/<batchId>.jsonl`). */
  index: TextStore;
  reportPrefix: string;
  /** Used when the message names no template. */
  defaultKeyTemplate: string;
  concurrency: number;
  /** Download and file slots shared with other batches running at the same time (the CLI); replace `concurrency`. */
  slots?: TransferSlots;
  /** Runs package messages (message.packages); without it they fail `misconfigured`. */
  packages?: PackageBatchRunner;
  /** The bucket's lanes (config); default: the default template's root plus attachments/ and forms/. */
  lanes?: Lanes;
}

export interface RunBatchInput {
  message: BatchMessage;
  /** SQS ApproximateReceiveCount (1 on the first delivery). */
  attempt: number;
  /** The queue's receive limit: the attempt that reaches it is the last one before the DLQ. */
  maxReceiveCount: number;
  signal?: AbortSignal;
  /**
   * Results an earlier run of this batch already settled, aligned with `message.refs` (the CLI resuming a job): a
   * ref with one is not copied again and its result goes into this attempt's report as it was.
   */
  settled?: ReadonlyArray<CopyResult | undefined>;
}

export interface BatchSummary {
  jobId: string;
  batchId: string;
  attempt: number;
  final: boolean;
  copied: number;
  skipped: number;
  failed: number;
  retryableFailed: number;
  bytes: number;
  ms: number;
}

export interface RunBatchOutcome {
  report: BatchReport;
  reportKey: string;
  summary: BatchSummary;
  stats: CopyStats;
  /** true → hand the message back to the queue (retryable failures left and attempts left). */
  retry: boolean;
}

/**
 * Copies the batch and writes the batch's file index `jobs/<jobId>/index/<batchId>.jsonl`, then
 * `jobs/<jobId>/batches/<batchId>.json`, after every attempt (a later attempt overwrites the report, its
 * already-copied files come back `skipped`, and merges the index). Rejects only when the report or the index cannot
 * be written, so the message is retried rather than its outcome lost.
 */
export async function runBatchMessage(input: RunBatchInput, deps: RunBatchDeps): Promise<RunBatchOutcome> {
  const now = deps.now ?? Date.now;
  const started = now();
  const { message } = input;
  const stats = newCopyStats();
  const signal = input.signal ? { signal: input.signal } : {};
  let results: CopyResult[];
  if (message.packages !== undefined) {
    // A package's index is built from every ref of its message, so a package batch is always run whole (`settled`
    // is the copy CLI's resume, which never carries package messages); files already archived come back skipped.
    results = deps.packages
      ? await deps.packages(
          message,
          { attempt: input.attempt, maxReceiveCount: input.maxReceiveCount, stats, ...signal },
          deps,
        )
      : message.refs.map((ref) =>
          failed(ref, ErrorCode.Misconfigured, 'this copy worker cannot archive form packages', true),
        );
  } else {
    const settled = input.settled ?? [];
    const toCopy = message.refs.filter((_, i) => settled[i] === undefined);
    const copied = await copyBatch(
      toCopy,
      {
        jobId: message.jobId,
        keyTemplate: message.keyTemplate ?? deps.defaultKeyTemplate,
        concurrency: deps.concurrency,
        ...(deps.slots ? { slots: deps.slots } : {}),
        lanes: deps.lanes ?? fallbackLanes(deps.defaultKeyTemplate, deps.reportPrefix),
        ...(message.onConflict === 'overwrite' ? { onConflict: message.onConflict } : {}),
        ...signal,
        stats,
      },
      deps,
    );
    let next = 0;
    results = message.refs.map((_, i) => settled[i] ?? (copied[next++] as CopyResult));
  }
  const { retryableFailed, ...counts } = tallyResults(results);
  const final = retryableFailed === 0 || input.attempt >= input.maxReceiveCount;
  const report: BatchReport = {
    v: 1,
    jobId: message.jobId,
    batchId: message.batchId,
    attempt: input.attempt,
    final,
    finishedAt: new Date(now()).toISOString(),
    results,
  };
  const reportKey = batchReportKey(message.jobId, message.batchId, deps.reportPrefix);
  // The index before the report: a job's status comes from its reports, so a job reported done has its whole index.
  await writeBatchIndex(
    {
      jobId: message.jobId,
      batchId: message.batchId,
      attempt: input.attempt,
      results,
      reportPrefix: deps.reportPrefix,
    },
    deps.index,
  );
  await deps.reports.putJson(reportKey, report);
  return {
    report,
    reportKey,
    stats,
    retry: !final,
    summary: {
      jobId: message.jobId,
      batchId: message.batchId,
      attempt: input.attempt,
      final,
      ...counts,
      retryableFailed,
      ms: Math.max(0, Math.round(now() - started)),
    },
  };
}
