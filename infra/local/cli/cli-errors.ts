/**
 * The CLI's exit codes and the one-line explanations of the failures a person can fix: missing credentials,
 * a host that cannot be reached, refused credentials, bad configuration. Everything shown is redacted.
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

/** One clear line (or a few) for a failure that stopped the whole command. */
export function explainError(err: unknown, ctx: ExplainContext = {}): Explained {
  if (err instanceof UsageError) return { message: err.message, exitCode: EXIT.usage };
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
  const name = (err as { name?: unknown })?.name;
  if (typeof name === 'string' && /^(CredentialsProviderError|ExpiredToken|InvalidAccessKeyId)/.test(name)) {
    return {
      message: `no usable AWS credentials for S3 (${name}): set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or point AWS_ENDPOINT_URL_S3 at an S3-compatible store`,
      exitCode: EXIT.fatal,
    };
  }
  if (typeof name === 'string' && /^(NoSuchBucket|AccessDenied|PermanentRedirect)$/.test(name)) {
    return {
      message: `S3 answered ${name}: check --bucket / EKB_BUCKET and AWS_REGION`,
      exitCode: EXIT.fatal,
    };
  }
  const text = err instanceof Error ? err.message : String(err);
  const label = err instanceof AppError ? `${err.code}: ` : typeof name === 'string' ? `${name}: ` : '';
  return { message: `${label}${redactText(text)}`, exitCode: EXIT.fatal };
}
