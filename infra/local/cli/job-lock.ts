/**
 * One run per job on this machine: `copy --job-id k1` holds a lock named after the job (its bucket, report
 * prefix and id, and the S3 endpoint) for as long as it runs, so the same command started twice refuses the second
 * with one line instead of both copying the same files. The lock is the operating system's (data-lock.ts): a run
 * killed with `kill -9` leaves nothing behind, and the same command afterwards resumes at once.
 *
 * Two machines running the same job at once are not stopped by this: both then end correct (every file is written
 * whole or not at all, the same bytes under the same key, and each batch's report describes the whole batch).
 */
import { createHash } from 'node:crypto';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { AppError, ErrorCode } from '../../../functions/core/errors.js';
import { type DataLock, lockFile } from '../data-lock.js';

export interface JobScope {
  bucket: string;
  reportPrefix: string;
  jobId: string;
  /** AWS_ENDPOINT_URL_S3, when set: the same bucket name on two stores is two jobs. */
  endpoint?: string;
}

export function jobLockPath(scope: JobScope, directory = defaultDirectory()): string {
  const name = createHash('sha256')
    .update([scope.endpoint ?? '', scope.bucket, scope.reportPrefix, scope.jobId].join('\u0000'))
    .digest('hex')
    .slice(0, 32);
  return join(directory, `${name}.lock`);
}

function defaultDirectory(): string {
  let user = 'user';
  try {
    user = String(userInfo().uid >= 0 ? userInfo().uid : userInfo().username);
  } catch {
    // No passwd entry (some containers): one shared folder is still correct, only less tidy.
  }
  return join(tmpdir(), `ekb-archive-${user}`, 'jobs');
}

export function lockJob(scope: JobScope, directory?: string): DataLock {
  return lockFile(
    jobLockPath(scope, directory),
    (cause) =>
      new AppError(
        ErrorCode.JobInUse,
        `job ${scope.jobId} in s3://${scope.bucket} is being run by another ekb-archive on this machine; wait for it to end, or give another --job-id`,
        { cause },
      ),
  );
}
