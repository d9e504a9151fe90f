/**
 * One error base for the whole project. Callers decide by `code` and `retryable`, never by message text.
 * Messages must be safe to show: no token, app secret, signed-URL query or download header ever goes in one.
 */
export interface AppErrorOptions {
  retryable?: boolean;
  /** HTTP status to answer with when this error reaches an API handler (4xx shows its message, 5xx a generic one). */
  status?: number;
  cause?: unknown;
  /** Extra, already-redacted facts for logs and reports. */
  details?: Record<string, unknown>;
}

export class AppError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.status = options.status ?? 500;
    this.details = options.details;
  }
}

/** Bad input from a caller: always a 400-class answer with a message naming what is wrong. */
export class ValidationError extends AppError {
  constructor(message: string, options: Omit<AppErrorOptions, 'retryable'> = {}) {
    super('invalid_input', message, { status: 400, ...options, retryable: false });
  }
}

/** The caller sent more than we accept in one request (413). */
export class TooLargeError extends AppError {
  constructor(message: string) {
    super('too_large', message, { status: 413, retryable: false });
  }
}

/** A failure talking to the 合思 Open API. `status` is the HTTP status we answer with (502/503/504). */
export class EkuaibaoError extends AppError {}

/** Credentials were refused by 合思 (bad appKey/appSecurity), or a fresh token was refused again. */
export class EkuaibaoAuthError extends EkuaibaoError {
  constructor(message: string, options: AppErrorOptions = {}) {
    super('ekuaibao_auth', message, { status: 502, ...options, retryable: false });
  }
}

/** The operation was cancelled by the caller's AbortSignal (deadline, Ctrl-C). Retryable by nature. */
export class AbortedError extends AppError {
  constructor(message = 'aborted', cause?: unknown) {
    super('aborted', message, { status: 503, retryable: true, cause });
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}
