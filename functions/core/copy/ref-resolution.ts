/**
 * Fresh URLs for every kind of ref, right before download (and again on 403): downloadurls for files with fileId
 * and key, flowDetails/attachment for files only it signs (receipts without fileId, invoice files on fee lines),
 * INVOICE/url for invoice files. Each endpoint is asked once per batch for all its refs (the client cuts the
 * calls at the vendor's limits: ≤100 refs, ≤100 forms), the three in parallel; answers come back in ref order.
 */
import { ErrorCode } from '../errors.js';
import { type FlowAttachments, FORM_FILE_URL_TTL_MS, type InvoiceFile } from '../model/form-files.js';
import type { DownloadRef, FlowCopyRef, InvoiceCopyRef } from '../model/refs.js';
import type { Resolution } from '../model/resolution.js';
import type { DownloadUrlResolver, FormFilesSource } from '../ports.js';

export interface RefResolvers {
  files: DownloadUrlResolver;
  /** flowDetails/attachment and INVOICE/url; without it flow and invoice refs fail `misconfigured`. */
  formFiles?: FormFilesSource | undefined;
}

export interface ResolveRefsOptions {
  /** Seconds downloadurls URLs stay valid (1..1800); the other calls' links live one hour, fixed. */
  expiration: number;
  signal: AbortSignal;
  now: () => number;
}

export async function resolveRefs(
  refs: readonly DownloadRef[],
  resolvers: RefResolvers,
  options: ResolveRefsOptions,
): Promise<Resolution[]> {
  const out: Resolution[] = new Array(refs.length);
  const files: number[] = [];
  const flows: number[] = [];
  const invoices: number[] = [];
  refs.forEach((ref, i) => {
    if (ref.kind === 'flow') flows.push(i);
    else if (ref.kind === 'invoice') invoices.push(i);
    else files.push(i);
  });
  const { formFiles } = resolvers;
  const missing = (i: number): void => {
    const ref = refs[i] as DownloadRef;
    out[i] = {
      status: 'not_found',
      id: ref.id,
      key: ref.key,
      code: ErrorCode.Misconfigured,
      message: `no resolver for ${ref.kind} refs is configured`,
    };
  };
  await Promise.all([
    files.length === 0
      ? undefined
      : resolvers.files
          .resolveDownloadUrls(
            files.map((i) => ({ id: (refs[i] as DownloadRef).id, key: (refs[i] as DownloadRef).key })),
            { expiration: options.expiration, signal: options.signal },
          )
          .then((answers) => {
            answers.forEach((a, j) => {
              out[files[j] as number] = a;
            });
          }),
    flows.length === 0
      ? undefined
      : formFiles
        ? resolveFlowFiles(
            flows.map((i) => refs[i] as FlowCopyRef),
            formFiles,
            options,
          ).then((answers) => {
            answers.forEach((a, j) => {
              out[flows[j] as number] = a;
            });
          })
        : flows.forEach(missing),
    invoices.length === 0
      ? undefined
      : formFiles
        ? resolveInvoiceFiles(
            invoices.map((i) => refs[i] as InvoiceCopyRef),
            formFiles,
            options,
          ).then((answers) => {
            answers.forEach((a, j) => {
              out[invoices[j] as number] = a;
            });
          })
        : invoices.forEach(missing),
  ]);
  return out;
}

async function resolveFlowFiles(
  refs: readonly FlowCopyRef[],
  source: FormFilesSource,
  options: ResolveRefsOptions,
): Promise<Resolution[]> {
  const sentAt = options.now();
  const answers = await source.getFlowAttachments([...new Set(refs.map((r) => r.id))], options.signal);
  const byFlow = new Map<string, FlowAttachments>(answers.map((a) => [a.flowId, a]));
  return refs.map((ref): Resolution => {
    const flow = byFlow.get(ref.id);
    if (!flow) {
      return {
        status: 'not_found',
        id: ref.id,
        key: ref.key,
        code: ErrorCode.FormNotFound,
        message: `合思 flowDetails/attachment does not list form ${ref.id} (deleted or unknown)`,
      };
    }
    const entry = flow.files.find((f) => f.role === ref.role && f.item === ref.key);
    if (!entry) {
      return {
        status: 'not_found',
        id: ref.id,
        key: ref.key,
        code: ErrorCode.FlowFileNotFound,
        message: `合思 flowDetails/attachment no longer lists this ${ref.role} file on form ${ref.id}`,
      };
    }
    return {
      status: 'resolved',
      id: ref.id,
      key: ref.key,
      url: entry.url,
      // Signed after sentAt: the one-hour life is counted from before the call, so it errs early.
      expiresAt: sentAt + FORM_FILE_URL_TTL_MS,
      ...(entry.fileName === undefined ? {} : { fileName: entry.fileName }),
    };
  });
}

async function resolveInvoiceFiles(
  refs: readonly InvoiceCopyRef[],
  source: FormFilesSource,
  options: ResolveRefsOptions,
): Promise<Resolution[]> {
  const sentAt = options.now();
  const answers = await source.getInvoiceUrls([...new Set(refs.map((r) => r.id))], options.signal);
  const byId = new Map<string, InvoiceFile>(answers.map((a) => [a.id, a]));
  return refs.map((ref): Resolution => {
    const file = byId.get(ref.id);
    if (!file) {
      return {
        status: 'not_found',
        id: ref.id,
        key: ref.key,
        code: ErrorCode.InvoiceUnavailable,
        message: `合思 INVOICE/url cannot produce the file of invoice ${ref.id} (its original is unavailable)`,
      };
    }
    return {
      status: 'resolved',
      id: ref.id,
      key: ref.key,
      url: file.url,
      expiresAt: sentAt + FORM_FILE_URL_TTL_MS,
      ...(file.fileName === undefined ? {} : { fileName: file.fileName }),
    };
  });
}
