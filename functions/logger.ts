/**
 * Structured JSON logs (one object per line, CloudWatch-friendly) that pass every field through `redact`.
 */
import type { LogFields, Logger } from './core/ports.js';
import { redact, redactText } from './core/util/redact.js';

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;
export type LogLevel = keyof typeof LEVELS;

export interface LoggerOptions {
  level?: LogLevel;
  service?: string;
  /** Where lines go; defaults to stdout (stderr for warn/error). Tests pass a collector. */
  write?: (line: string, level: LogLevel) => void;
}

const defaultWrite = (line: string, level: LogLevel): void => {
  (level === 'warn' || level === 'error' ? process.stderr : process.stdout).write(`${line}\n`);
};

export function createLogger(options: LoggerOptions = {}, base: LogFields = {}): Logger {
  const min = LEVELS[options.level ?? 'info'];
  const write = options.write ?? defaultWrite;
  const emit = (level: LogLevel, message: string, fields?: LogFields): void => {
    if (LEVELS[level] < min) return;
    const entry = {
      level,
      time: new Date().toISOString(),
      ...(options.service ? { service: options.service } : {}),
      message: redactText(message),
      ...(redact({ ...base, ...fields }) as LogFields),
    };
    write(JSON.stringify(entry), level);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger(options, { ...base, ...fields }),
  };
}
