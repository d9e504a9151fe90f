/**
 * Everything one sandbox instance knows: its tenant (files, forms), the tokens it issued, its signing secret,
 * its clock, the armed faults and the counters. Routes read and change it; the server core owns one.
 */

import { createHash } from 'node:crypto';
import type { EkuaibaoForm } from '../../../functions/core/model/forms.js';
import { ChecksumCache } from './checksums.js';
import { DEMO_APP_KEY, DEMO_APP_SECURITY, DEMO_CORPORATION_ID, demoFiles, demoForms } from './demo-data.js';
import { demoInvoices, demoReceipts } from './demo-packages.js';
import { contentTypeOf } from './download-meta.js';
import { FaultBoard } from './faults.js';
import { findAttachmentObjects, presentForm, type StoredForm } from './forms.js';
import type { StoredObject } from './objects.js';
import { OutboundSender } from './outbound.js';
import { Signer } from './signing.js';
import type {
  IntegritySwitches,
  SandboxFile,
  SandboxFormChange,
  SandboxInvoice,
  SandboxOptions,
  SandboxReceipt,
  SandboxStats,
} from './types.js';

const TWO_HOURS_MS = 2 * 60 * 60 * 1000;
const FIFTEEN_MINUTES_MS = 15 * 60 * 1000;
/** getFlowsPdf's documented limit: "不能超过32M". */
const FLOWS_PDF_MAX_BYTES = 32 * 1024 * 1024;

export interface TokenRecord {
  expireTime: number;
  refreshToken: string;
  /** Whether a data call has used it yet (for the forbiddenAfterIssue quirk). */
  used: boolean;
}

export function emptyStats(): Required<SandboxStats> {
  return {
    tokenCalls: 0,
    downloadUrlCalls: 0,
    downloadUrlItems: 0,
    maxItemsPerCall: 0,
    applyListCalls: 0,
    flowDetailsCalls: 0,
    downloadsStarted: 0,
    downloadsCompleted: 0,
    faultsFired: {},
    downloadsRefused: 0,
    unauthorizedCalls: 0,
    refreshTokenCalls: 0,
    flowAttachmentCalls: 0,
    invoiceSearchCalls: 0,
    invoiceUrlCalls: 0,
    flowsPdfCalls: 0,
    outboundLogCalls: 0,
    outboundAttempts: 0,
    outboundDelivered: 0,
    outboundFailed: 0,
  };
}

export class SandboxState {
  /** Set once the server listens; every URL the sandbox hands out starts with it. */
  baseUrl = '';
  readonly appKey: string;
  readonly appSecurity: string;
  readonly stats: Required<SandboxStats> = emptyStats();
  readonly now: () => number;
  readonly tokenTtlMs: number;
  /** DP: header-signed downloads are accepted this long after signing. */
  readonly dpTtlMs: number;
  readonly signer = new Signer();
  readonly faults: FaultBoard;
  readonly files = new Map<string, SandboxFile>();
  readonly forms = new Map<string, StoredForm>();
  tokens = new Map<string, TokenRecord>();
  /** Every access and refresh token ever issued (revoked ones too), for tests that prove none leaked. */
  readonly issued: string[] = [];
  readonly integrity: IntegritySwitches;
  readonly checksums = new ChecksumCache();
  /** Versions served so far by changingBody (each firing is a new one). */
  bodyVersions = 0;
  readonly invoices = new Map<string, SandboxInvoice>();
  /** Bank receipts by form id. */
  readonly receipts = new Map<string, SandboxReceipt[]>();
  /** What the form-package hosts serve, by storage key. */
  readonly objects = new Map<string, StoredObject>();
  readonly flowsPdfMaxBytes: number;
  readonly outbound: OutboundSender;
  #attachmentsAdded = 0;

  constructor(options: SandboxOptions) {
    this.appKey = options.appKey ?? DEMO_APP_KEY;
    this.appSecurity = options.appSecurity ?? DEMO_APP_SECURITY;
    this.now = options.now ?? Date.now;
    this.tokenTtlMs = options.tokenTtlMs ?? TWO_HOURS_MS;
    this.dpTtlMs = options.dpSignatureTtlMs ?? FIFTEEN_MINUTES_MS;
    this.integrity = {
      crc64: options.integrity?.crc64 ?? true,
      contentMd5: options.integrity?.contentMd5 ?? false,
    };
    this.faults = new FaultBoard((kind) => {
      this.stats.faultsFired[kind] = (this.stats.faultsFired[kind] ?? 0) + 1;
    });
    this.flowsPdfMaxBytes = options.flowsPdfMaxBytes ?? FLOWS_PDF_MAX_BYTES;
    this.outbound = new OutboundSender(this.now, this.stats, DEMO_CORPORATION_ID);
    this.outbound.configure(options.outbound);
    for (const file of options.files ?? demoFiles()) this.addFile(file);
    for (const form of options.forms ?? demoForms()) this.putForm(form);
    // The demo's invoices and receipts belong to the demo forms: with forms of one's own, none unless given.
    for (const invoice of options.invoices ?? (options.forms ? [] : demoInvoices())) this.addInvoice(invoice);
    const receipts = options.receipts ?? (options.forms ? {} : demoReceipts());
    for (const [flowId, list] of Object.entries(receipts)) this.putReceipts(flowId, list);
  }

  addFile(file: SandboxFile): void {
    if (!file.id || !file.key || !Number.isSafeInteger(file.size) || file.size < 0) {
      throw new RangeError(`sandbox file needs id, key and a non-negative integer size (id ${file.id})`);
    }
    this.files.set(file.id, { ...file });
    if (!file.key.startsWith('DP:')) {
      this.#putObject({
        key: file.key,
        fileName: file.fileName,
        size: file.size,
        seed: file.seed ?? file.id,
        contentType: contentTypeOf(file),
        withoutCrc64: file.withoutCrc64 === true,
      });
    }
  }

  addInvoice(invoice: SandboxInvoice): void {
    const { file } = invoice;
    if (!invoice.id || !file?.key || !Number.isSafeInteger(file.size) || file.size < 0) {
      throw new RangeError(`sandbox invoice needs an id and a file with key and size (id ${invoice.id})`);
    }
    this.invoices.set(invoice.id, structuredClone(invoice));
    this.#putObject({
      key: file.key,
      fileName: file.fileName,
      size: file.size,
      seed: `invoice:${file.key}`,
      contentType: contentTypeOf(file),
    });
  }

  putReceipts(flowId: string, receipts: SandboxReceipt[]): void {
    for (const r of receipts) {
      if (!r.key || !Number.isSafeInteger(r.size) || r.size < 0) {
        throw new RangeError(`sandbox receipt needs a key and a size (form ${flowId})`);
      }
      this.#putObject({
        key: r.key,
        fileName: r.key,
        size: r.size,
        seed: `receipt:${r.key}`,
        contentType: contentTypeOf({ key: r.key, fileName: r.key }),
      });
    }
    this.receipts.set(
      flowId,
      receipts.map((r) => ({ ...r })),
    );
  }

  #putObject(object: StoredObject): void {
    this.objects.set(object.key, object);
  }

  /** A live form edited by its owner: a later updateTime, maybe a new title and a new attachment. */
  changeForm(flowId: string, change: SandboxFormChange = {}): EkuaibaoForm {
    const stored = this.forms.get(flowId);
    if (!stored || stored.deleted) throw new RangeError(`sandbox has no live form ${flowId}`);
    const form = stored.form;
    // Strictly later, even when a test's clock stands still: a change is always a new version.
    form.updateTime = Math.max(this.now(), (form.updateTime ?? 0) + 1);
    form.form ??= {};
    if (change.title !== undefined) form.form.title = change.title;
    if (change.attachment) {
      const list = Array.isArray(form.form.attachments) ? form.form.attachments : [];
      form.form.attachments = [...list, this.newAttachment(flowId, change.attachment)];
    }
    return presentForm(stored);
  }

  /** Registers a file added to a form now (fileId and key derived from the form, a counter and the name). */
  newAttachment(
    flowId: string,
    spec: { fileName: string; size: number; fileId?: string; key?: string },
  ): { fileId: string; key: string; fileName: string } {
    this.#attachmentsAdded += 1;
    const tag = createHash('sha256')
      .update(`${flowId}\u0000${this.#attachmentsAdded}\u0000${spec.fileName}`)
      .digest('hex');
    const fileId = spec.fileId ?? `add${tag.slice(0, 11)}`;
    const key = spec.key ?? `openapi${uuidFrom(tag)}-${spec.fileName}`;
    this.addFile({ id: fileId, key, fileName: spec.fileName, size: spec.size });
    return { fileId, key, fileName: spec.fileName };
  }

  /** Adds or replaces a form; its attachments' files are registered when they carry a size. */
  putForm(form: EkuaibaoForm): void {
    if (!form.id) throw new RangeError('sandbox form needs an id');
    const copy = structuredClone(form);
    for (const a of findAttachmentObjects(copy)) {
      const size = typeof a.size === 'number' ? a.size : a.fileSize;
      if (typeof size === 'number') {
        this.addFile({
          id: a.fileId as string,
          key: a.key as string,
          fileName: typeof a.fileName === 'string' ? a.fileName : (a.fileId as string),
          size,
        });
      }
    }
    this.forms.set(form.id, { form: copy, deleted: copy.active === false });
  }
}

function uuidFrom(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
