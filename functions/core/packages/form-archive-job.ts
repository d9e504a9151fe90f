/**
 * A form-archive request → a package job: the request's forms fetched as they are needed (requestForms) and
 * planned, queued and recorded by createPackageJob. Shared by fan-out (requests under manifests/form-archives/,
 * written by POST /form-archives) and `ekb-archive archive-forms`.
 */
import { AppError } from '../errors.js';
import type { JobSource } from '../model/job.js';
import type { PackageIndex } from '../model/package.js';
import type { FormPackageSource, FormsSource, ReportStore } from '../ports.js';
import { type FormArchiveRequest, requestForms } from './form-request.js';
import { createPackageJob, type PackageJobDeps, type PackageJobResult } from './package-job.js';

export interface FormArchiveJobDeps extends Omit<PackageJobDeps, 'plan'> {
  source: FormPackageSource & FormsSource;
  /** EKB_PACKAGE_STATES. */
  states: readonly string[];
  pagePauseMs?: number;
}

/**
 * A version is archived whole when its index says so (a re-run then queues nothing for it). An object there that
 * is not an index (not JSON) is no proof: the version is planned again and its index written over it; a failed
 * read (retryable) still stops the plan.
 */
export function archivedIn(store: ReportStore): (indexKey: string) => Promise<boolean> {
  return async (key) => {
    try {
      return (await store.getJson<PackageIndex>(key))?.complete === true;
    } catch (err) {
      if (err instanceof AppError && !err.retryable) return false;
      throw err;
    }
  };
}

export async function runFormArchiveJob(
  input: { jobId: string; source: JobSource; request: FormArchiveRequest },
  deps: FormArchiveJobDeps,
): Promise<PackageJobResult> {
  const { source, states, pagePauseMs, ...jobDeps } = deps;
  const signal = deps.signal ? { signal: deps.signal } : {};
  return createPackageJob(
    {
      jobId: input.jobId,
      source: input.source,
      forms: requestForms(input.request, {
        forms: source,
        now: () => (deps.now?.() ?? new Date()).getTime(),
        ...(pagePauseMs === undefined ? {} : { pagePauseMs }),
        ...signal,
      }),
    },
    { ...jobDeps, plan: { source, states, archived: archivedIn(deps.store), ...signal } },
  );
}
