/**
 * Refs: what 合思 needs to find a file, and what travels through queues and manifests on its way to the bucket.
 * Queue messages carry refs, never a signed URL: a retried message can reappear after the URL died; the copy worker
 * resolves right before it downloads.
 *
 * Kinds (a message without `kind` is a downloadurls ref, so messages queued before kinds existed stay readable):
 * - `file`: a 合思 file with fileId and key, signed by downloadurls (`id` = fileId, `key` = storage key);
 * - `flow`: a file only flowDetails/attachment can sign, e.g. a bank receipt (回单) without fileId
 *   (`id` = the form's id, `key` = the item: its storage key, else its fileId, else `#<n>` within its role);
 * - `invoice`: an invoice's own file, signed by INVOICE/url (`id` = invoice id, `key` = `url`, the one file that
 *   call names per invoice; its thumbnail is never archived);
 * - `package`: a form package's own object, written by the copy worker (`id` = the form's id, `key` = `form.json`,
 *   `print.pdf` or `package.json`).
 * Every kind keeps `id` and `key`, so results, reports and the CLI name every ref the same way.
 */
import type { PackageFileInfo, PackagePart } from './package.js';

/** What 合思 needs to find a file: the `fileId` and the storage `key`, sent back byte for byte. */
export interface AttachmentRef {
  id: string;
  key: string;
}

/** The JSON inside a DingTalk-drive key: `DP:{"fileId","fileName","fileSize","fileType","spaceId"}`. */
export interface DpKeyInfo {
  fileId?: string;
  fileName?: string;
  fileSize?: number;
  fileType?: string;
  spaceId?: string;
}

/** What every kind of ref carries on its way to the bucket. */
interface RefBase extends AttachmentRef {
  /** Original file name, when the source knows it (form attachment, manifest column). */
  fileName?: string;
  /** Exact object key to write; overrides the template. Validated like any generated key. */
  targetKey?: string;
  /** Extra template values from the source, e.g. flowCode, flowId, formType for scheduled sync. */
  vars?: Record<string, string>;
  /** Set on the files of a form package: what its index says about the file. */
  pkg?: PackageFileInfo;
}

/** A file downloadurls signs: `id` = fileId, `key` = storage key. */
export interface FileCopyRef extends RefBase {
  kind?: 'file';
}

/** Where flowDetails/attachment lists a file: flow.body, flow.free (attachments, invoices), flow.approving, flow.receipt. */
export type FlowFileRole = 'body' | 'fee' | 'invoice' | 'approval' | 'receipt';
export const FLOW_FILE_ROLES: readonly FlowFileRole[] = ['body', 'fee', 'invoice', 'approval', 'receipt'];

/** A file only flowDetails/attachment signs: `id` = flowId, `key` = its item (storage key, fileId or `#n`). */
export interface FlowCopyRef extends RefBase {
  kind: 'flow';
  role: FlowFileRole;
  /** The file's fileId when 合思 gave one (receipts have none). */
  fileId?: string;
}

/** An invoice's file from INVOICE/url: `id` = invoice id, `key` = `url`. */
export interface InvoiceCopyRef extends RefBase {
  kind: 'invoice';
}

/** An object of a form package the copy worker writes itself: `id` = flowId, `key` = the part's name. */
export interface PackagePartRef extends RefBase {
  kind: 'package';
  key: PackagePart;
}

/** A ref on its way to the bucket. */
export type CopyRef = FileCopyRef | FlowCopyRef | InvoiceCopyRef | PackagePartRef;

/** The refs the copy engine downloads (a package part is written by the package runner instead). */
export type DownloadRef = FileCopyRef | FlowCopyRef | InvoiceCopyRef;

export function isPackagePart(ref: CopyRef): ref is PackagePartRef {
  return ref.kind === 'package';
}
