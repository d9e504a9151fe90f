/**
 * The public face of the 合思 sandbox: a real HTTP server on 127.0.0.1 that speaks the Open API contract
 * (../shared/ekuaibao-api.md) and serves the signed downloads, with switches for every fault the contract allows.
 * Tests and the local stack both start it with `startEkuaibaoSandbox()` from ./server.ts.
 */
import type { EkuaibaoForm } from '../../../functions/core/model/forms.js';

/** A file the sandbox knows. Bodies are generated deterministically from `seed` (never held in memory). */
export interface SandboxFile {
  /** The fileId sent as `id` to downloadurls. */
  id: string;
  /** The storage key, byte for byte (ordinary `openapi<uuid>-<name>` keys, or `DP:{json}` DingTalk keys). */
  key: string;
  /** The original file name. */
  fileName: string;
  /** Size in bytes (any size; 4 GiB works). */
  size: number;
  /** Content seed; defaults to the id. */
  seed?: string;
  contentType?: string;
}

export type SandboxRoute = 'token' | 'downloadurls' | 'applyList' | 'flowDetails' | 'download' | 'any';

/** A fault applies to the next `times` matching requests (default 1), then disarms itself. */
export type SandboxFault =
  /** Answer with this status (e.g. 429 with Retry-After, 500/502/503/504) instead of the real answer. */
  | {
      kind: 'status';
      route: SandboxRoute;
      status: number;
      retryAfterSeconds?: number;
      body?: string;
      times?: number;
    }
  /** Wait before sending the status line and headers. */
  | { kind: 'slowHeaders'; route: SandboxRoute; delayMs: number; times?: number }
  /** Send the first `afterBytes` of the body, then stall for `stallMs` (or forever when omitted) before going on. */
  | { kind: 'stallBody'; route: 'download'; afterBytes: number; stallMs?: number; times?: number }
  /** Throttle the body to this many bytes per second. */
  | { kind: 'slowBody'; route: 'download'; bytesPerSecond: number; times?: number }
  /**
   * Announce the full Content-Length, send `afterBytes`, then close the connection (FIN, no RST): the client
   * sees a body shorter than Content-Length, i.e. a premature close, never a clean shorter response.
   */
  | { kind: 'truncate'; route: 'download'; afterBytes: number; times?: number }
  /** Send `afterBytes` (0 = before any byte of the answer), then destroy the socket (ECONNRESET for the client). */
  | { kind: 'reset'; route: SandboxRoute; afterBytes: number; times?: number }
  /** The first data call with a freshly issued token answers 403 未授权 (the 2023 vendor quirk). */
  | { kind: 'forbiddenAfterIssue'; times?: number }
  /** Downloads answer 403 as if the signed URL had expired. */
  | { kind: 'expiredUrl'; times?: number };

export interface SandboxStats {
  tokenCalls: number;
  downloadUrlCalls: number;
  /** Items across all downloadurls calls. */
  downloadUrlItems: number;
  /** Largest array one downloadurls call carried. */
  maxItemsPerCall: number;
  applyListCalls: number;
  flowDetailsCalls: number;
  /** Download GETs started / completed in full. */
  downloadsStarted: number;
  downloadsCompleted: number;
  /** Faults that fired, by kind. */
  faultsFired: Record<string, number>;
  /** Download GETs refused with 403 (expired, bad signature, missing or stale DP: headers, expiredUrl fault). */
  downloadsRefused?: number;
  /** Data calls refused 403 未授权 (missing, unknown, expired or revoked token; forbiddenAfterIssue). */
  unauthorizedCalls?: number;
  /** POST /api/openapi/v2/auth/refreshToken calls. */
  refreshTokenCalls?: number;
}

export interface SandboxOptions {
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  appKey?: string;
  appSecurity?: string;
  /** Access token lifetime; the vendor's is about 2 h. */
  tokenTtlMs?: number;
  /** DP: header-signed downloads are accepted only this long after signing (OSS: ~15 min). */
  dpSignatureTtlMs?: number;
  /** Files known at start; defaults to the demo set (demoFiles()). Pass [] for none. */
  files?: SandboxFile[];
  /** Forms known at start; defaults to the demo set (demoForms()). Pass [] for none. */
  forms?: EkuaibaoForm[];
  /** The sandbox's clock, epoch ms (tests move it to expire tokens and URLs). */
  now?: () => number;
}

export interface EkuaibaoSandbox {
  /** e.g. http://127.0.0.1:41234 — what EKB_BASE_URL should be. */
  readonly baseUrl: string;
  readonly appKey: string;
  readonly appSecurity: string;
  readonly stats: SandboxStats;
  resetStats(): void;
  addFile(file: SandboxFile): void;
  /** Adds or replaces a form (by id); its attachments' files are registered when they carry a size. */
  putForm(form: EkuaibaoForm): void;
  /** Marks a form deleted: flowDetails answers 412, getApplyList lists it only when `active` is not true. */
  deleteForm(id: string): void;
  inject(fault: SandboxFault): void;
  clearFaults(): void;
  /** Invalidates every token issued so far (as if revoked mid-run); new tokens work. */
  revokeTokens(): void;
  /** Every access and refresh token issued so far, revoked ones included (tests prove none leaked). */
  issuedTokens?(): string[];
  /** SHA-256 (hex) of a file's generated body, streamed. */
  sha256(fileId: string): Promise<string>;
  close(): Promise<void>;
}
