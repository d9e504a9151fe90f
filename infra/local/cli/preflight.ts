/**
 * The checks before the first batch: the 合思 credentials work (one token fetch, which also proves the host
 * answers; the token is then reused by the run), and the bucket can be written (the run's own record under the
 * job's `jobs/<jobId>/`, written first: it is the cheapest write there is that proves the prefix is writable, and
 * it writes nothing outside the job) or, for a command without a job id yet, asked for (HeadBucket). They run at once; the first
 * failure becomes one line and exit 3 (cli-errors.ts), instead of one failed line per ref later.
 */
import type { ReportStore } from '../../../functions/core/ports.js';
import { PreflightError } from './cli-errors.js';
import type { CliContext } from './context.js';

export type BucketProbe =
  /** Writes `value` to `key` (a key under the job's own prefix). */
  | { kind: 'write'; bucket: string; store: ReportStore; key: string; value: unknown }
  /** HeadBucket: the bucket exists and these credentials may use it (writes show with the first report). */
  | { kind: 'head'; bucket: string };

export interface PreflightChecks {
  ekuaibao: boolean;
  bucket?: BucketProbe;
}

export async function preflight(ctx: CliContext, checks: PreflightChecks): Promise<void> {
  // `what` prefixes the explained cause where the cause alone would not name the thing (合思's already name the host).
  const probes: Array<{ what: string | undefined; run: () => Promise<unknown> }> = [];
  if (checks.ekuaibao) {
    probes.push({ what: undefined, run: async () => (await ctx.ekuaibao()).getAccessToken(ctx.signal) });
  }
  const bucket = checks.bucket;
  if (bucket?.kind === 'write') {
    probes.push({
      what: `the bucket ${bucket.bucket} cannot be written`,
      run: () => bucket.store.putJson(bucket.key, bucket.value),
    });
  } else if (bucket?.kind === 'head') {
    probes.push({
      what: `the bucket ${bucket.bucket} cannot be used`,
      run: async () => {
        // Loaded when the check runs, not when the CLI starts (--help never loads the AWS SDK).
        const { headBucket } = await import('./head-bucket.js');
        await headBucket(ctx, bucket.bucket);
      },
    });
  }
  const outcomes = await Promise.allSettled(probes.map((p) => p.run()));
  outcomes.forEach((outcome, i) => {
    if (outcome.status === 'rejected' && !ctx.signal.aborted) {
      throw new PreflightError(probes[i]?.what, outcome.reason);
    }
  });
}
