/**
 * The package index (package.json): every file with its role, sources, 合思 identity, invoice numbers, object key,
 * size and SHA-256 (from the copy's proof record), the form's own parts, what is missing and why, the form's
 * accounting metadata and its approval trail. `complete` is true only when nothing listed is missing.
 */
import type { CopyResult } from '../model/copy-result.js';
import type { EkuaibaoForm } from '../model/forms.js';
import type {
  PackageFileRole,
  PackageIndex,
  PackageIndexFile,
  PackageIndexMissing,
  PackageInfo,
  PartRecord,
} from '../model/package.js';
import type { DownloadRef } from '../model/refs.js';
import { approvalTrail, summarizeForm } from './form-summary.js';

/** What the copy knows of a stored file beyond its result (integrity's FileRecord, or a HEAD). */
export interface StoredFacts {
  size?: number;
  sha256?: string;
  versionId?: string;
}

/** One file's outcome: its ref when this message carried it (earlier parts of a split package: results only). */
export interface FileOutcome {
  ref?: DownloadRef;
  result: CopyResult;
  facts?: StoredFacts;
}

export type PartOutcome = { ok: PartRecord } | { failed: { code: string; message: string } };

export interface IndexInput {
  info: PackageInfo;
  /** The form as fetched (undefined: 合思 no longer has it). */
  form: EkuaibaoForm | undefined;
  files: FileOutcome[];
  formJson: PartOutcome;
  printPdf: PartOutcome;
  jobId: string;
  now: Date;
}

const ROLES: readonly PackageFileRole[] = [
  'body',
  'fee',
  'invoice',
  'invoice-original',
  'approval',
  'receipt',
];

/** The role an object key names (files/<role>/…), for files known only from another part's report. */
function roleOfKey(info: PackageInfo, objectKey: string | undefined): PackageFileRole | undefined {
  const rest = objectKey?.startsWith(`${info.root}files/`) ? objectKey.slice(info.root.length + 6) : '';
  const role = rest.slice(0, rest.indexOf('/')) as PackageFileRole;
  return ROLES.includes(role) ? role : undefined;
}

function identityOf(
  ref: DownloadRef | undefined,
  result: CopyResult,
): Pick<PackageIndexFile, 'fileId' | 'key'> {
  if (ref?.kind === 'invoice') return {};
  if (ref?.kind === 'flow') {
    return {
      ...(ref.fileId === undefined ? {} : { fileId: ref.fileId }),
      ...(ref.key.startsWith('#') || ref.key === ref.fileId ? {} : { key: ref.key }),
    };
  }
  return { fileId: result.id, key: result.key };
}

function fileEntry(info: PackageInfo, o: FileOutcome, objectKey: string): PackageIndexFile {
  const { ref, result } = o;
  const pkg = ref?.pkg;
  const entry: PackageIndexFile = {
    role: pkg?.role ?? roleOfKey(info, objectKey) ?? 'body',
    sources: pkg?.sources ?? [],
    name: ref?.fileName ?? objectKey.slice(objectKey.lastIndexOf('/') + 1),
    objectKey,
    ...identityOf(ref, result),
    status: result.status === 'skipped' ? 'skipped' : 'copied',
  };
  if (pkg?.invoice) entry.invoice = pkg.invoice;
  if (pkg?.crop) entry.crop = true;
  if (pkg?.freeId) entry.freeId = pkg.freeId;
  if (pkg?.path) entry.path = pkg.path;
  const size = o.facts?.size ?? (result.status === 'copied' ? result.bytes : undefined);
  if (size !== undefined) entry.size = size;
  if (o.facts?.sha256 !== undefined) entry.sha256 = o.facts.sha256;
  if (o.facts?.versionId !== undefined) entry.versionId = o.facts.versionId;
  return entry;
}

function missingEntry(info: PackageInfo, o: FileOutcome): PackageIndexMissing {
  const { ref, result } = o;
  const failed = result as Extract<CopyResult, { status: 'failed' }>;
  const objectKey = ref?.targetKey ?? result.objectKey;
  const entry: PackageIndexMissing = { code: failed.code, reason: failed.message };
  const role = ref?.pkg?.role ?? roleOfKey(info, objectKey);
  if (role) entry.role = role;
  if (ref?.fileName) entry.name = ref.fileName;
  if (objectKey) entry.objectKey = objectKey;
  Object.assign(entry, identityOf(ref, result));
  if (ref?.pkg?.invoice) entry.invoice = ref.pkg.invoice;
  return entry;
}

export function buildIndex(input: IndexInput): PackageIndex {
  const { info } = input;
  const files: PackageIndexFile[] = [];
  const missing: PackageIndexMissing[] = [];
  for (const o of input.files) {
    const objectKey = o.ref?.targetKey ?? o.result.objectKey;
    if (o.result.status !== 'failed' && objectKey !== undefined) files.push(fileEntry(info, o, objectKey));
    else missing.push(missingEntry(info, o));
  }
  const parts: PackageIndex['parts'] = {};
  for (const [part, outcome] of [
    ['form.json', input.formJson],
    ['print.pdf', input.printPdf],
  ] as const) {
    if ('ok' in outcome) parts[part] = outcome.ok;
    else missing.push({ part, code: outcome.failed.code, reason: outcome.failed.message });
  }
  const fallback = { code: info.code, formType: info.formType, state: info.state };
  const form = input.form ?? { id: info.flowId, updateTime: info.updateTime };
  return {
    v: 1,
    kind: 'ekb-archive/form-package',
    complete: missing.length === 0,
    version: info.version,
    form: summarizeForm(form, fallback),
    files,
    parts,
    missing,
    approval: input.form ? approvalTrail(input.form) : [],
    archivedAt: input.now.toISOString(),
    jobId: input.jobId,
  };
}
