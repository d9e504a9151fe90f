/**
 * A job of form packages, for every way in (the scheduled sync, a form-archive request, the CLI): forms stream in,
 * are planned 100 at a time (plan.ts), and each package becomes refs in queue messages — its files and its three
 * parts (form.json, print.pdf, package.json), so every object the package writes has one result in the job
 * report. Small packages share a message (one call per endpoint serves them all); a package too large for one
 * message is split, its last part writing form.json, the PDF and the index. job.json is written once every
 * message is queued, as for any job (create-job.ts): a job that exists is never queued twice.
 */
import { MAX_BATCH_REF_BYTES, MAX_REPORTED_BAD_LINES, refBytes } from '../attachments/batching.js';
import { MESSAGES_PER_SEND } from '../jobs/create-job.js';
import { assertValidJobId, batchIdFor, jobRecordKey } from '../jobs/keys.js';
import { type BatchMessage, MAX_REFS_PER_MESSAGE } from '../model/batch.js';
import { MAX_FLOW_IDS_PER_CALL } from '../model/form-files.js';
import type { EkuaibaoForm } from '../model/forms.js';
import type { BadInput, JobPackages, JobRecord, JobSource } from '../model/job.js';
import { PACKAGE_PARTS, type PackageInfo } from '../model/package.js';
import type { CopyRef, DownloadRef, PackagePartRef } from '../model/refs.js';
import { type BatchQueue, type Logger, type ReportStore, silentLogger } from '../ports.js';
import { PACKAGES_PREFIX, partKey } from './layout.js';
import { type PlanDeps, type PlannedPackage, planPackages } from './plan.js';

/** Packages per message: each costs a flowDetails call, a print PDF and two small PUTs on top of its files. */
export const MAX_PACKAGES_PER_MESSAGE = 25;
/** What job.json names as the template of a package job (every ref carries its exact key). */
export const PACKAGE_JOB_TEMPLATE = `${PACKAGES_PREFIX}{formType}/{flowCode}/ (form packages)`;

/** A form to archive, or an asked-for form 合思 does not know (a bad line of the request). */
export type FormItem = { form: EkuaibaoForm } | { bad: BadInput };

export interface PackageJobInput {
  jobId: string;
  source: JobSource;
  forms: AsyncIterable<FormItem> | Iterable<FormItem>;
  /**
   * Write job.json even when nothing was queued, held or bad (every package archived already). Default true
   * (requests and the CLI: the user sees that); the sync passes false, so quiet windows leave no job behind.
   */
  recordEmpty?: boolean;
}

export interface PackageJobDeps {
  plan: PlanDeps;
  queue: BatchQueue;
  store: ReportStore;
  now?: () => Date;
  logger?: Logger;
  reportPrefix?: string;
  signal?: AbortSignal;
}

export interface PackageJobResult {
  /** undefined when nothing was queued and recordEmpty is false. */
  record: JobRecord | undefined;
  /** false when job.json existed already and nothing was queued. */
  created: boolean;
  /** Distinct forms read from the input (bad lines not counted). */
  forms: number;
  invalidAttachments: number;
}

/** Messages being filled, cut and sent ten at a time. */
class Packer {
  readonly batchIds: string[] = [];
  readonly batchSizes: number[] = [];
  refs = 0;
  #current: { refs: CopyRef[]; packages: PackageInfo[]; bytes: number } = {
    refs: [],
    packages: [],
    bytes: 0,
  };
  #pending: BatchMessage[] = [];

  constructor(
    private readonly jobId: string,
    private readonly deps: PackageJobDeps,
  ) {}

  async add(pkg: PlannedPackage): Promise<void> {
    const refs: CopyRef[] = [...pkg.files, ...partRefs(pkg.info)];
    const bytes = refs.reduce((n, r) => n + refBytes(r), 0);
    if (refs.length > MAX_REFS_PER_MESSAGE || bytes > MAX_BATCH_REF_BYTES) {
      await this.#cut();
      await this.#split(pkg);
      return;
    }
    const c = this.#current;
    if (
      c.refs.length + refs.length > MAX_REFS_PER_MESSAGE ||
      c.bytes + bytes > MAX_BATCH_REF_BYTES ||
      c.packages.length >= MAX_PACKAGES_PER_MESSAGE
    ) {
      await this.#cut();
    }
    this.#current.refs.push(...refs);
    this.#current.packages.push(pkg.info);
    this.#current.bytes += bytes;
  }

  async finish(): Promise<void> {
    await this.#cut();
    await this.#flush();
  }

  /** Parts of ≤100 refs each; the last keeps room for the three package parts, which it writes. */
  async #split(pkg: PlannedPackage): Promise<void> {
    const chunks: DownloadRef[][] = [];
    let chunk: DownloadRef[] = [];
    let bytes = 0;
    for (const ref of pkg.files) {
      const size = refBytes(ref);
      if (chunk.length >= MAX_REFS_PER_MESSAGE || bytes + size > MAX_BATCH_REF_BYTES) {
        chunks.push(chunk);
        chunk = [];
        bytes = 0;
      }
      chunk.push(ref);
      bytes += size;
    }
    const parts = partRefs(pkg.info);
    const partBytes = parts.reduce((n, r) => n + refBytes(r), 0);
    if (chunk.length + parts.length > MAX_REFS_PER_MESSAGE || bytes + partBytes > MAX_BATCH_REF_BYTES) {
      chunks.push(chunk);
      chunk = [];
    }
    chunks.push(chunk);
    const ids = chunks.map((_, i) => batchIdFor(this.batchIds.length + i));
    for (const [i, files] of chunks.entries()) {
      const last = i === chunks.length - 1;
      const info: PackageInfo = { ...pkg.info, part: { index: i + 1, of: chunks.length, batchIds: ids } };
      await this.#emit(last ? [...files, ...parts] : files, [info]);
    }
  }

  async #cut(): Promise<void> {
    const c = this.#current;
    if (c.refs.length === 0) return;
    this.#current = { refs: [], packages: [], bytes: 0 };
    await this.#emit(c.refs, c.packages);
  }

  async #emit(refs: CopyRef[], packages: PackageInfo[]): Promise<void> {
    const batchId = batchIdFor(this.batchIds.length);
    this.batchIds.push(batchId);
    this.batchSizes.push(refs.length);
    this.refs += refs.length;
    this.#pending.push({ v: 1, jobId: this.jobId, batchId, refs, packages });
    if (this.#pending.length >= MESSAGES_PER_SEND) await this.#flush();
  }

  async #flush(): Promise<void> {
    if (this.#pending.length === 0) return;
    const messages = this.#pending;
    this.#pending = [];
    await this.deps.queue.sendBatches(messages, this.deps.signal);
  }
}

/** A package's own objects, as refs whose results the job report shows (the index last). */
export function partRefs(info: PackageInfo): PackagePartRef[] {
  return PACKAGE_PARTS.map((part) => ({
    kind: 'package' as const,
    id: info.flowId,
    key: part,
    targetKey: partKey(info.root, info.version, part),
  }));
}

export async function createPackageJob(
  input: PackageJobInput,
  deps: PackageJobDeps,
): Promise<PackageJobResult> {
  assertValidJobId(input.jobId);
  const log = (deps.logger ?? silentLogger).child({ jobId: input.jobId });
  const recordKey = jobRecordKey(input.jobId, deps.reportPrefix);
  const existing = await deps.store.getJson<JobRecord>(recordKey);
  if (existing !== undefined) {
    log.info('job already queued; nothing sent again', { batches: existing.counts.batches });
    return { record: existing, created: false, forms: 0, invalidAttachments: 0 };
  }
  const packer = new Packer(input.jobId, deps);
  const packages: JobPackages = { queued: 0, unchanged: 0, held: 0, heldForms: [] };
  const bad: BadInput[] = [];
  let badLines = 0;
  let duplicates = 0;
  let forms = 0;
  let invalidAttachments = 0;
  const seen = new Set<string>();
  let chunk: EkuaibaoForm[] = [];

  const plan = async (): Promise<void> => {
    if (chunk.length === 0) return;
    const planned = await planPackages(chunk, deps.plan);
    chunk = [];
    invalidAttachments += planned.invalidAttachments;
    packages.unchanged += planned.unchanged.length;
    packages.held += planned.held.length;
    for (const h of planned.held)
      if (packages.heldForms.length < MAX_REPORTED_BAD_LINES) packages.heldForms.push(h);
    for (const pkg of planned.packages) {
      await packer.add(pkg);
      packages.queued += 1;
    }
  };
  for await (const item of input.forms) {
    if ('bad' in item) {
      badLines += 1;
      if (bad.length < MAX_REPORTED_BAD_LINES) bad.push(item.bad);
      continue;
    }
    const identity = `${item.form.id}\u0000${item.form.updateTime ?? ''}`;
    if (seen.has(identity)) {
      duplicates += 1;
      continue;
    }
    seen.add(identity);
    forms += 1;
    chunk.push(item.form);
    if (chunk.length >= MAX_FLOW_IDS_PER_CALL) await plan();
  }
  await plan();
  await packer.finish();

  const nothing = packer.batchIds.length === 0 && badLines === 0 && packages.held === 0;
  if (nothing && input.recordEmpty === false) {
    log.info('no package to queue', { forms, held: packages.held, unchanged: packages.unchanged });
    return { record: undefined, created: false, forms, invalidAttachments };
  }
  const record: JobRecord = {
    v: 1,
    jobId: input.jobId,
    source: input.source,
    createdAt: (deps.now?.() ?? new Date()).toISOString(),
    keyTemplate: PACKAGE_JOB_TEMPLATE,
    counts: { refs: packer.refs, batches: packer.batchIds.length, duplicates, badLines },
    badLines: bad,
    batchIds: packer.batchIds,
    batchSizes: packer.batchSizes,
    packages,
  };
  await deps.store.putJson(recordKey, record);
  log.info('package job queued', { ...record.counts, ...packages, heldForms: undefined });
  return { record, created: true, forms, invalidAttachments };
}
