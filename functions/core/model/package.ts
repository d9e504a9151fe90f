/**
 * Form packages (单据归档包): one folder per form under the forms lane, holding every file on the form, its
 * invoices' files, its JSON and approval log (form.json), its print PDF and an index (package.json). What queue
 * messages and refs say about a package, and the index's shape.
 */

/** The objects a package's version folder holds besides its files; the index is written last. */
export const PACKAGE_PARTS = ['form.json', 'print.pdf', 'package.json'] as const;
export type PackagePart = (typeof PACKAGE_PARTS)[number];

/**
 * A file's role in the package (and the folder under files/ it lands in):
 * body (the form's own attachments and custom fields), fee (detail lines), invoice (an invoice's file as attached
 * to a detail line), invoice-original (the invoice's file as INVOICE/url gives it: the signed XML of a 数电票, PDF,
 * OFD, or for a photographed invoice an OCR crop), approval (approval and comment attachments), receipt (bank
 * receipts, 回单).
 */
export type PackageFileRole = 'body' | 'fee' | 'invoice' | 'invoice-original' | 'approval' | 'receipt';

/** Where a file was found: the form's JSON (walked whole), flowDetails/attachment, INVOICE/search + INVOICE/url. */
export type PackageFileSource = 'form' | 'flowDetails/attachment' | 'INVOICE/url';

/** An invoice's numbers as an accountant reads them (flowDetails/attachment swaps the two field names). */
export interface InvoiceNumbers {
  /** Invoice id (INVOICE/search, INVOICE/url). */
  id?: string;
  /** 发票代码 (none for 数电票 and most tickets). */
  code?: string;
  /** 发票号码. */
  number?: string;
  /** 合思's invoice type, e.g. invoice, taxi, train, fixed. */
  type?: string;
}

/** What the package index records about one file; carried on the file's ref (ref.pkg). */
export interface PackageFileInfo {
  /** The package (form id) the file belongs to. */
  flowId: string;
  role: PackageFileRole;
  /** Every source that listed it (a form attachment is usually found by the walk and by flowDetails/attachment). */
  sources: PackageFileSource[];
  /** Fee type of the detail line (flow.free freeId). */
  freeId?: string;
  /** Where the walk found it in the form JSON, e.g. `$.form.details[0].feeTypeForm.attachments[1]`. */
  path?: string;
  invoice?: InvoiceNumbers;
  /** INVOICE/url serves this image as an OCR crop (x-oss-process=image/crop), not the original photo. */
  crop?: boolean;
}

/** A package as a queue message carries it (message.packages): enough to write its folder and index. */
export interface PackageInfo {
  flowId: string;
  /** Form code (单据编号), or the id when the form has none. */
  code: string;
  formType: string;
  /** The form's updateTime (epoch ms) the package was planned from: it names the version. */
  updateTime: number;
  /** The version folder name (from updateTime). */
  version: string;
  /** The form's state when it was planned. */
  state: string;
  /** `forms/<formType>/<flowCode>/`: files/ and the version folders are under it. */
  root: string;
  /**
   * Set when the package's files did not fit one message: this message is part `index` of `of` (1-based); the last
   * part writes form.json, print.pdf and the index, reading the earlier parts' results from their batch reports.
   */
  part?: { index: number; of: number; batchIds: string[] };
}

/** One file in the index. */
export interface PackageIndexFile {
  role: PackageFileRole;
  sources: PackageFileSource[];
  /** The file's name as 合思 gives it. */
  name: string;
  objectKey: string;
  fileId?: string;
  /** The 合思 storage key (downloadurls, flowDetails/attachment). */
  key?: string;
  invoice?: InvoiceNumbers;
  crop?: boolean;
  freeId?: string;
  path?: string;
  size?: number;
  /** Hex SHA-256 of the stored bytes, from the copy's proof record. */
  sha256?: string;
  versionId?: string;
  /** copied now, or skipped because this very file was already archived (by an earlier version or run). */
  status: 'copied' | 'skipped';
}

/** A listed file or part that is not in the package, and why. */
export interface PackageIndexMissing {
  role?: PackageFileRole;
  part?: Exclude<PackagePart, 'package.json'>;
  name?: string;
  objectKey?: string;
  fileId?: string;
  key?: string;
  invoice?: InvoiceNumbers;
  code: string;
  reason: string;
}

/** package.json: the package's index, written after every file and part of it has its result. */
export interface PackageIndex {
  v: 1;
  kind: 'ekb-archive/form-package';
  /** true only when every listed file and part is archived; else `missing` names each one and why. */
  complete: boolean;
  version: string;
  form: PackageFormSummary;
  files: PackageIndexFile[];
  parts: Partial<Record<Exclude<PackagePart, 'package.json'>, PartRecord>>;
  missing: PackageIndexMissing[];
  approval: ApprovalStep[];
  archivedAt: string;
  jobId: string;
}

export interface PartRecord {
  objectKey: string;
  size: number;
  sha256: string;
}

/** What an accounting archive keeps about a form (会计档案: the document's metadata). */
export interface PackageFormSummary {
  id: string;
  code: string;
  type: string;
  title?: string;
  state: string;
  submitter?: string;
  department?: string;
  /** Every money field of the form (expenseMoney, loanMoney, payMoney, …): amount as written and currency. */
  amounts: Array<{ field: string; amount: string; currency?: string }>;
  createTime?: string;
  updateTime: string;
  submitDate?: string;
}

export interface ApprovalStep {
  action: string;
  time?: string;
  operator?: string;
  comment?: string;
  attachments: number;
}
