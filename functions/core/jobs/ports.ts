/**
 * The ports job creation needs. Adapters: functions/aws/sqs-sender.ts (SQS) and the local stack's in-process queue;
 * the ReportStore port lives in types.ts (S3 adapter: functions/aws/s3-report-store.ts).
 */
import type { CopyRef } from '../copy/types.js';
import type { BadInput, BatchMessage } from './types.js';

/** Where batch messages go (SQS in AWS). Resolves once every message is accepted; throws when any was not. */
export interface BatchQueue {
  sendBatches(messages: BatchMessage[], signal?: AbortSignal): Promise<void>;
}

/** One manifest line or API item: a usable ref (with its 1-based line), or a bad input to report. */
export type ManifestItem = { ref: CopyRef; line: number } | { bad: BadInput };
