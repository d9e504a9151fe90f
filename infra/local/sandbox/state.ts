/**
 * Everything one sandbox instance knows: its tenant (files, forms), the tokens it issued, its signing secret,
 * its clock, the armed faults and the counters. Routes read and change it; the server core owns one.
 */
import type { EkuaibaoForm } from '../../../functions/core/ekuaibao/types.js';
import { ChecksumCache } from './checksums.js';
import { DEMO_APP_KEY, DEMO_APP_SECURITY, demoFiles, demoForms } from './demo-data.js';
import { FaultBoard } from './faults.js';
import { findAttachmentObjects, type StoredForm } from './forms.js';
import { Signer } from './signing.js';
import type { IntegritySwitches, SandboxFile, SandboxOptions, SandboxStats } from './types.js';

const TWO_HOURS_MS = 2 * 60 * 60 * 1000;
const FIFTEEN_MINUTES_MS = 15 * 60 * 1000;

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
    for (const file of options.files ?? demoFiles()) this.addFile(file);
    for (const form of options.forms ?? demoForms()) this.putForm(form);
  }

  addFile(file: SandboxFile): void {
    if (!file.id || !file.key || !Number.isSafeInteger(file.size) || file.size < 0) {
      throw new RangeError(`sandbox file needs id, key and a non-negative integer size (id ${file.id})`);
    }
    this.files.set(file.id, { ...file });
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
