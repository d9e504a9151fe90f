/**
 * A small schema for settings that arrive as environment variables (strings) or as CDK context (strings from
 * `-c key=value`, or JSON values from cdk.json): each setting names its environment key, its context key when the
 * stack may set it, its one default, and how its text is read. `readSettings` reads a whole table and collects every
 * problem instead of stopping at the first, so a user sees all bad keys at once.
 *
 * Hand-written rather than a schema library: env and context values need coercion from text with our own messages
 * ("EKB_COPY_CONCURRENCY must be an integer from 1 to 64 (got "0")"), which a library would express as custom
 * pipes of about the same length, and this costs the bundles nothing (BENCHMARKS.md, section 5).
 */

/** A raw value: env text, or a cdk.json value. undefined and blank text mean "not set". */
export type RawValue = unknown;

export interface Setting<T, E extends string = string> {
  /** Environment key (EKB_*). */
  readonly env: E;
  /** CDK context key, when the stack may set this setting. */
  readonly context?: string;
  readonly default: T;
  /** The value, or a problem sentence's tail ("must be …") when the raw value is unusable. */
  readonly read: (raw: NonNullable<RawValue>) => { value: T } | { problem: string };
}

export type SettingsTable = Record<string, Setting<unknown>>;
export type SettingValues<S extends SettingsTable> = { -readonly [K in keyof S]: S[K]['default'] };

const got = (raw: unknown): string => `(got "${String(raw)}")`;
const text = (raw: unknown): string => (typeof raw === 'string' ? raw.trim() : String(raw));

export function stringSetting<const E extends string, T extends string | undefined = string>(
  env: E,
  fallback: T,
  context?: string,
): Setting<string | T, E> {
  return { env, default: fallback, ...(context ? { context } : {}), read: (raw) => ({ value: text(raw) }) };
}

export function intSetting<const E extends string>(
  env: E,
  fallback: number,
  min: number,
  max: number,
  context?: string,
): Setting<number, E> {
  return {
    env,
    default: fallback,
    ...(context ? { context } : {}),
    read: (raw) => {
      const n = typeof raw === 'number' ? raw : Number(text(raw));
      return Number.isInteger(n) && n >= min && n <= max
        ? { value: n }
        : { problem: `must be an integer from ${min} to ${max} ${got(text(raw))}` };
    },
  };
}

export function boolSetting<const E extends string, T extends boolean | undefined = boolean>(
  env: E,
  fallback: T,
  context?: string,
): Setting<boolean | T, E> {
  return {
    env,
    default: fallback,
    ...(context ? { context } : {}),
    read: (raw) => {
      if (typeof raw === 'boolean') return { value: raw };
      if (/^(1|true|yes|on)$/i.test(text(raw))) return { value: true };
      if (/^(0|false|no|off)$/i.test(text(raw))) return { value: false };
      return { problem: `must be true or false ${got(text(raw))}` };
    },
  };
}

/** Comma-separated values (or a JSON array in cdk.json), trimmed, empty entries dropped. */
export function listSetting<const E extends string>(
  env: E,
  fallback: readonly string[],
  context?: string,
  allowed?: readonly string[],
): Setting<string[], E> {
  return {
    env,
    default: [...fallback],
    ...(context ? { context } : {}),
    read: (raw) => {
      const items = (Array.isArray(raw) ? raw.map(String) : text(raw).split(','))
        .map((s) => s.trim())
        .filter(Boolean);
      const unknown = allowed ? items.filter((i) => !allowed.includes(i)) : [];
      return unknown.length > 0
        ? { problem: `may list only ${allowed?.join(', ')} (got "${unknown.join(', ')}")` }
        : { value: items };
    },
  };
}

/** One of a few words, lower-cased. */
export function choiceSetting<const E extends string, const C extends string>(
  env: E,
  choices: readonly C[],
  fallback: C,
  context?: string,
): Setting<C, E> {
  const list = `${choices.slice(0, -1).join(', ')} or ${choices.at(-1)}`;
  return {
    env,
    default: fallback,
    ...(context ? { context } : {}),
    read: (raw) => {
      const v = text(raw).toLowerCase();
      return (choices as readonly string[]).includes(v)
        ? { value: v as C }
        : { problem: `must be ${list} ${got(v)}` };
    },
  };
}

/** A setting with its own reader (URLs, dates, expressions). */
export function customSetting<T, const E extends string>(
  env: E,
  fallback: T,
  read: (value: string) => { value: T } | { problem: string },
  context?: string,
): Setting<T, E> {
  return { env, default: fallback, ...(context ? { context } : {}), read: (raw) => read(text(raw)) };
}

export interface ReadSettingsResult<S extends SettingsTable> {
  values: SettingValues<S>;
  /** One sentence per bad key, naming it and what it got. */
  problems: string[];
}

/**
 * Reads every setting of `table` through `source` (env or context); an unset or unusable value takes its default.
 * `name` says how a setting is called in messages (its env key, or its context key).
 */
export function readSettings<S extends SettingsTable>(
  table: S,
  source: (setting: Setting<unknown>) => RawValue,
  name: (setting: Setting<unknown>) => string,
): ReadSettingsResult<S> {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, setting] of Object.entries(table)) {
    const raw = source(setting);
    if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) {
      values[key] = Array.isArray(setting.default) ? [...setting.default] : setting.default;
      continue;
    }
    const out = setting.read(raw);
    if ('problem' in out) {
      problems.push(`${name(setting)} ${out.problem}`);
      values[key] = setting.default;
    } else values[key] = out.value;
  }
  return { values: values as SettingValues<S>, problems };
}

/** Env keys, as the functions read them. */
export const fromEnv =
  (env: Record<string, string | undefined>) =>
  (setting: Setting<unknown>): RawValue =>
    env[setting.env];
