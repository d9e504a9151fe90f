/**
 * Starts the job a `POST /copy-jobs` asked for (a list of refs, or a manifest in the archive bucket): every batch
 * is queued and job.json written before this returns. The API handler keeps only the HTTP side.
 */
import { refsAsItems } from '../attachments/batching.js';
import type { CopyJobRequest } from './copy-job-request.js';
import { type CreateJobResult, createJobOnce } from './create-job.js';
import { type ManifestJobDeps, runManifestJob } from './manifest-job.js';

export async function startCopyJob(
  request: CopyJobRequest,
  job: { jobId: string; defaultKeyTemplate: string },
  deps: ManifestJobDeps,
): Promise<CreateJobResult> {
  const keyTemplate = request.keyTemplate ?? job.defaultKeyTemplate;
  const onConflict = request.onConflict === 'overwrite' ? { onConflict: request.onConflict } : {};
  if (request.kind === 'refs') {
    return createJobOnce(
      {
        jobId: job.jobId,
        source: { kind: 'api' },
        items: refsAsItems(request.refs),
        keyTemplate,
        ...onConflict,
      },
      deps,
    );
  }
  return runManifestJob(
    {
      jobId: job.jobId,
      bucket: request.bucket,
      key: request.key,
      keyTemplate,
      source: { kind: 'api', manifest: `s3://${request.bucket}/${request.key}` },
      ...onConflict,
      // A caller waiting for an answer hears about an unreadable manifest as a 400, not as a failed job.
      rejectUnusable: true,
    },
    deps,
  );
}
