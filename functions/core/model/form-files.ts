/**
 * What 合思's form-package calls answer (vendor pages get-flows-attachment, get-flow-invoice,
 * get-entity-invoice-img, get-flows-pdf), as the client hands them on. URLs in here are signed for one hour and
 * secret: they are used for one download and never logged, queued or reported.
 */
import type { Readable } from 'node:stream';
import type { FlowFileRole } from './refs.js';

/** flowDetails/attachment takes at most 100 form ids per call ("最大不允许超过 100 个单据"). */
export const MAX_FLOW_IDS_PER_CALL = 100;
/** Links from flowDetails/attachment and INVOICE/url live one hour ("有效期 1个小时"). */
export const FORM_FILE_URL_TTL_MS = 60 * 60_000;

/** One file flowDetails/attachment lists on a form. */
export interface FlowFileEntry {
  role: FlowFileRole;
  /**
   * How the file is found again in a later answer: its storage key, else its fileId, else `#<n>` (its position
   * among the role's files without either; the vendor says key, fileId and fileName may be missing).
   */
  item: string;
  key?: string;
  fileId?: string;
  fileName?: string;
  /** flow.free entries: the fee type (freeId). */
  freeId?: string;
  /** flow.free invoice files, with the vendor's swapped field names put right: code = 发票代码, number = 发票号码. */
  invoice?: { code?: string; number?: string };
  /** Ready signed URL (one hour; hosts vary). Secret. */
  url: string;
}

export interface FlowAttachments {
  flowId: string;
  flowCode?: string;
  fromType?: string;
  files: FlowFileEntry[];
}

/** An invoice on a form (INVOICE/search). */
export interface InvoiceOnForm {
  invoiceId: string;
  itemIds: string[];
  type?: string;
}

/** An invoice's file (INVOICE/url): XML, PDF, OFD or an image, which may be an OCR crop. */
export interface InvoiceFile {
  id: string;
  /** Signed one-hour URL. Secret. */
  url: string;
  fileName?: string;
  source?: string;
  /** The URL carries x-oss-process=image/crop: an OCR crop of the photo, not the photo itself. */
  crop: boolean;
}

/** getFlowsPdf: the print PDF as a stream, or the vendor's refusal (412: over 32 MB, several employees, gone). */
export type FlowsPdfAnswer =
  | { kind: 'pdf'; body: Readable; contentLength?: number }
  | { kind: 'refused'; status: number; message: string; tooLarge: boolean };
