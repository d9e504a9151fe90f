/**
 * Every file of one form, from every source, as refs ready for the queue: what the form's JSON holds (walked whole,
 * custom fields included: downloadurls refs), what flowDetails/attachment lists besides (receipts without fileId,
 * invoice files of fee lines: flow refs, signed by that call), and each invoice's own file (INVOICE/url: invoice
 * refs). A file both the walk and flowDetails/attachment list (same fileId and key) is one ref, so it is archived
 * once. Each ref gets its object key under the package's files/ folder and what the index will say about it.
 */
import { originalFileName } from '../attachments/object-key.js';
import type { FlowAttachments, FlowFileEntry, InvoiceFile, InvoiceOnForm } from '../model/form-files.js';
import type { EkuaibaoForm } from '../model/forms.js';
import type { PackageFileInfo, PackageFileRole } from '../model/package.js';
import type { DownloadRef, FileCopyRef, FlowCopyRef, InvoiceCopyRef } from '../model/refs.js';
import { findFormAttachments } from '../sync/walk-form.js';
import { fileKey } from './layout.js';

export interface PackageFilesInput {
  form: EkuaibaoForm;
  /** `forms/<formType>/<flowCode>/`. */
  root: string;
  /** The form's entry in flowDetails/attachment (undefined: the call did not list it). */
  flow: FlowAttachments | undefined;
  /** INVOICE/search's invoices of the form. */
  invoices: readonly InvoiceOnForm[];
  /** INVOICE/url's answers by invoice id (for the files' names and the crop flag; absent = no original). */
  invoiceFiles: ReadonlyMap<string, InvoiceFile>;
}

export interface PackageFiles {
  refs: DownloadRef[];
  /** Attachment-like objects in the JSON with an empty fileId or key: not archivable, counted. */
  invalid: number;
}

/** The role of a file the walk found, by where it sits in the form's JSON. */
export function roleOfPath(path: string): PackageFileRole {
  if (path.startsWith('$.logs')) return 'approval';
  if (path.startsWith('$.form.details')) return 'fee';
  return 'body';
}

export function packageFiles(input: PackageFilesInput): PackageFiles {
  const { form } = input;
  const flowId = String(form.id);
  const walk = findFormAttachments(form);
  const refs: DownloadRef[] = [];
  const byFile = new Map<string, FileCopyRef>();
  walk.refs.forEach((found, i) => {
    const path = walk.paths[i] as string;
    const ref: FileCopyRef = {
      id: found.id,
      key: found.key,
      ...(found.fileName === undefined ? {} : { fileName: found.fileName }),
      pkg: { flowId, role: roleOfPath(path), sources: ['form'], path },
    };
    byFile.set(`${found.id}\u0000${found.key}`, ref);
    refs.push(ref);
  });

  const flowItems = new Set<string>();
  const flowFiles = new Set<string>();
  for (const entry of input.flow?.files ?? []) {
    const same = entry.fileId && entry.key ? byFile.get(`${entry.fileId}\u0000${entry.key}`) : undefined;
    if (same?.pkg) {
      // The walk found it too: one file, whose role and fee line 合思's own listing names.
      if (!same.pkg.sources.includes('flowDetails/attachment'))
        same.pkg.sources.push('flowDetails/attachment');
      Object.assign(same.pkg, entryInfo(flowId, entry, same.pkg.sources));
      continue;
    }
    const item = `${entry.role}\u0000${entry.item}`;
    if (flowItems.has(item)) continue;
    flowItems.add(item);
    if (entry.fileId && entry.key) {
      // Listed twice by the call itself (e.g. under two roles): the first wins, like the walk's repeats.
      const file = `${entry.fileId}\u0000${entry.key}`;
      if (flowFiles.has(file)) continue;
      flowFiles.add(file);
    }
    const ref: FlowCopyRef = {
      kind: 'flow',
      id: flowId,
      key: entry.item,
      role: entry.role,
      ...(entry.fileId === undefined ? {} : { fileId: entry.fileId }),
      ...(entry.fileName === undefined ? {} : { fileName: entry.fileName }),
      pkg: entryInfo(flowId, entry, ['flowDetails/attachment']),
    };
    refs.push(ref);
  }

  const invoiceIds = new Set<string>();
  for (const invoice of input.invoices) {
    if (invoiceIds.has(invoice.invoiceId)) continue;
    invoiceIds.add(invoice.invoiceId);
    const file = input.invoiceFiles.get(invoice.invoiceId);
    const ref: InvoiceCopyRef = {
      kind: 'invoice',
      id: invoice.invoiceId,
      key: 'url',
      ...(file?.fileName === undefined ? {} : { fileName: file.fileName }),
      pkg: {
        flowId,
        role: 'invoice-original',
        sources: ['INVOICE/url'],
        invoice: { id: invoice.invoiceId, ...(invoice.type === undefined ? {} : { type: invoice.type }) },
        ...(file?.crop ? { crop: true } : {}),
      },
    };
    refs.push(ref);
  }

  assignKeys(refs, input.root);
  return { refs, invalid: walk.invalid.length };
}

function entryInfo(
  flowId: string,
  entry: FlowFileEntry,
  sources: PackageFileInfo['sources'],
): PackageFileInfo {
  const info: PackageFileInfo = { flowId, role: entry.role, sources };
  if (entry.freeId !== undefined) info.freeId = entry.freeId;
  if (entry.invoice !== undefined) info.invoice = { ...entry.invoice };
  return info;
}

/** The name a file gets under files/<role>/: fileId first where there is one, so two files never share a name. */
function nameOf(ref: DownloadRef): string {
  // Invoice ids look like `<corp>:<code>:<number>`; `:` needs special handling in many S3 tools, so `_` here (the
  // index keeps the id as 合思 writes it).
  if (ref.kind === 'invoice') return `${ref.id.replaceAll(':', '_')}-${ref.fileName ?? 'invoice'}`;
  if (ref.kind === 'flow') {
    const name = ref.fileName ?? ref.key;
    return ref.fileId === undefined ? name : `${ref.fileId}-${name}`;
  }
  return `${ref.id}-${originalFileName(ref)}`;
}

/** Object keys for every ref; two that would share a key (names cut short, odd names) get `~2`, `~3`, … */
function assignKeys(refs: DownloadRef[], root: string): void {
  const used = new Set<string>();
  for (const ref of refs) {
    const role = ref.pkg?.role ?? 'body';
    let key = fileKey(root, role, nameOf(ref));
    for (let n = 2; used.has(key); n++) key = fileKey(root, role, nameOf(ref), n);
    used.add(key);
    ref.targetKey = key;
  }
}
