/**
 * The CLI's exit codes and the one-line explanations of the failures a person can fix: missing credentials,
 * a host that cannot be reached, refused credentials, a bucket that is missing or not writable, a file that cannot
 * be read, bad configuration. Every command's failure goes through explainError (main.ts), so a new command gets
 * the same lines and exit codes by throwing; nothing reaches the person as a stack trace. Everything is redacted.
 */
import { AppError, EkuaibaoAuthError, ValidationError } from '../../../functions/core/errors.js';
import { redactText } from '../../../functions/core/util/redact.js';

export const EXIT = {
  ok: 0,
  /** Some refs failed, were not found, or some manifest lines were bad. */
  itemsFailed: 1,
  /** Bad flags, bad configuration, missing credentials. */
  usage: 2,
  /** The work could not run: host unreachable, credentials refused, bucket not accessible. */
  fatal: 3,
  /** Ctrl-C (128 + SIGINT). */
  interrupted: 130,
} as const;

/** A mistake in how the CLI was called; shown with the command's usage hint. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * A check before the first batch failed (preflight.ts): 合思 or the bucket cannot be used. `what` says which; the
 * cause is explained as usual. Always exit 3 unless the cause is a usage error.
 */
export class PreflightError extends Error {
  override readonly name = 'PreflightError';
  readonly what: string | undefined;
  constructor(what: string | undefined, cause: unknown) {
    super(what ?? 'a check before the first batch failed', { cause });
    this.what = what;
  }
}

/** A run that stopped as a whole part way (the 合思 credentials refused mid-run, the job's input differs). */
export class RunStoppedError extends Error {
  override readonly name = 'RunStoppedError';
  constructor(cause: unknown) {
    super('the run stopped', { cause });
  }
}

const NETWORK_CODES: Record<string, string> = {
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed',
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  CERT_HAS_EXPIRED: 'TLS certificate expired',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS certificate not trusted',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'TLS certificate self-signed',
};

/** The first connection-level error code anywhere in the error's cause chain (or AppError details). */
export function networkCodeOf(err: unknown): string | undefined {
  const seen = new Set<unknown>();
  const walk = (e: unknown, depth: number): string | undefined => {
    if (!e || typeof e !== 'object' || depth > 6 || seen.has(e)) return undefined;
    seen.add(e);
    const o = e as {
      code?: unknown;
      errno?: unknown;
      cause?: unknown;
      errors?: unknown;
      details?: { errorCode?: unknown };
    };
    for (const c of [o.code, o.errno, o.details?.errorCode]) {
      if (typeof c === 'string' && NETWORK_CODES[c]) return c;
    }
    if (Array.isArray(o.errors)) {
      for (const inner of o.errors) {
        const found = walk(inner, depth + 1);
        if (found) return found;
      }
    }
    return walk(o.cause, depth + 1);
  };
  return walk(err, 0);
}

export interface ExplainContext {
  /** 合思 base URL in use. */
  ekbBaseUrl?: string;
  /** S3 endpoint in use (AWS_ENDPOINT_URL_S3), if any. */
  s3Endpoint?: string;
}

export interface Explained {
  message: string;
  exitCode: number;
}

const host = (url: string | undefined): string | undefined => {
  if (!url) return undefined;
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
};

const FILE_CODES: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'a part of the path is not a directory',
};

/** S3's error names the person can act on, wherever they sit in the cause chain (adapters wrap them). */
const S3_NAMES =
  /^(NotFound|Forbidden|NoSuchBucket|AccessDenied|AllAccessDisabled|PermanentRedirect|InvalidAccessKeyId|SignatureDoesNotMatch|ExpiredToken|InvalidToken|AuthorizationHeaderMalformed|InvalidBucketName|CredentialsProviderError)$/;

function s3ErrorNameOf(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; e && typeof e === 'object' && depth < 6; depth += 1) {
    const name = (e as { name?: unknown }).name;
    if (typeof name === 'string' && S3_NAMES.test(name)) return name;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

function explainS3(answered: string): string {
  let name = answered;
  if (
    /^(InvalidAccessKeyId|SignatureDoesNotMatch|ExpiredToken|InvalidToken|CredentialsProviderError)$/.test(
      name,
    )
  ) {
    return `S3 refused the AWS credentials (${name}): check AWS_PROFILE or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, or point AWS_ENDPOINT_URL_S3 at an S3-compatible store`;
  }
  // HeadBucket answers without a body: its 404 and 403 come as NotFound and Forbidden.
  if (name === 'NoSuchBucket' || name === 'InvalidBucketName' || name === 'NotFound') {
    return `S3 answered ${name}: the bucket does not exist (check --bucket / EKB_BUCKET, and AWS_ENDPOINT_URL_S3)`;
  }
  if (name === 'PermanentRedirect' || name === 'AuthorizationHeaderMalformed') {
    return `S3 answered ${name}: the bucket is in another region (set AWS_REGION to the bucket's region)`;
  }
  if (name === 'Forbidden') name = 'AccessDenied';
  return `S3 answered ${name}: these AWS credentials may not read and write the bucket's jobs/ prefix (check --bucket / EKB_BUCKET and the IAM policy)`;
}

/** One clear line (or a few) for a failure that stopped the whole command. */
export function explainError(err: unknown, ctx: ExplainContext = {}): Explained {
  if (err instanceof UsageError) return { message: err.message, exitCode: EXIT.usage };
  if (err instanceof PreflightError) {
    const inner = explainError(err.cause, ctx);
    return {
      message: err.what === undefined ? inner.message : `${err.what}: ${inner.message}`,
      exitCode: inner.exitCode === EXIT.usage ? EXIT.usage : EXIT.fatal,
    };
  }
  if (err instanceof RunStoppedError) {
    const inner = explainError(err.cause, ctx);
    return { message: `stopped: ${inner.message}`, exitCode: inner.exitCode };
  }
  const fsCode = (err as { code?: unknown; path?: unknown; syscall?: unknown } | null)?.code;
  const path = (err as { path?: unknown } | null)?.path;
  if (typeof fsCode === 'string' && FILE_CODES[fsCode] && typeof path === 'string') {
    return { message: `cannot read ${path}: ${FILE_CODES[fsCode]} (${fsCode})`, exitCode: EXIT.usage };
  }
  const code = networkCodeOf(err);
  if (code !== undefined) {
    const isEkb = err instanceof AppError && err.code.startsWith('ekuaibao');
    const where = isEkb
      ? `the 合思 API at ${host(ctx.ekbBaseUrl) ?? 'EKB_BASE_URL'} (EKB_BASE_URL)`
      : ctx.s3Endpoint
        ? `the S3 endpoint ${host(ctx.s3Endpoint) ?? ctx.s3Endpoint} (AWS_ENDPOINT_URL_S3)`
        : 'the host';
    return { message: `cannot reach ${where}: ${NETWORK_CODES[code]} (${code})`, exitCode: EXIT.fatal };
  }
  if (err instanceof EkuaibaoAuthError) {
    return {
      message: `合思 refused the credentials: check EKB_APP_KEY / EKB_APP_SECURITY for ${host(ctx.ekbBaseUrl) ?? 'your tenant'} (${redactText(err.message)})`,
      exitCode: EXIT.fatal,
    };
  }
  if (err instanceof ValidationError) return { message: redactText(err.message), exitCode: EXIT.usage };
  // A manifest named on the command line that is not there: the same as a missing local file.
  if (err instanceof AppError && err.code === 'manifest_not_found') {
    return { message: redactText(err.message), exitCode: EXIT.usage };
  }
  if (err instanceof AppError && err.code === 'job_in_use') {
    return { message: err.message, exitCode: EXIT.fatal };
  }
  const s3Name = s3ErrorNameOf(err);
  if (s3Name === 'CredentialsProviderError') {
    return {
      message: `no usable AWS credentials for S3 (${s3Name}): set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or point AWS_ENDPOINT_URL_S3 at an S3-compatible store`,
      exitCode: EXIT.fatal,
    };
  }
  if (s3Name !== undefined) return { message: explainS3(s3Name), exitCode: EXIT.fatal };
  const name = (err as { name?: unknown })?.name;
  const text = err instanceof Error ? err.message : String(err);
  const label = err instanceof AppError ? `${err.code}: ` : typeof name === 'string' ? `${name}: ` : '';
  return { message: `${label}${redactText(text)}`, exitCode: EXIT.fatal };
}
