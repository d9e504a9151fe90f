/**
 * Typed reads of an environment map that collect every problem instead of stopping at the first, so a user
 * sees all bad keys at once. Used by functions/config.ts (the functions' keys) and the local stack's own settings.
 */
export interface EnvReader {
  /** Every problem found so far, one sentence each naming the key and the value it got. */
  readonly problems: string[];
  /** Trimmed value; blank counts as unset. */
  str(name: string): string | undefined;
  int(name: string, fallback: number, min: number, max: number): number;
  bool<T extends boolean | undefined>(name: string, fallback: T): boolean | T;
  /** Comma-separated values, trimmed, empty entries dropped. */
  list(name: string, fallback: string[]): string[];
}

export function createEnvReader(env: Record<string, string | undefined>): EnvReader {
  const problems: string[] = [];
  const str = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  return {
    problems,
    str,
    int(name, fallback, min, max) {
      const raw = str(name);
      if (raw === undefined) return fallback;
      const n = Number(raw);
      if (!Number.isInteger(n) || n < min || n > max) {
        problems.push(`${name} must be an integer from ${min} to ${max} (got "${raw}")`);
        return fallback;
      }
      return n;
    },
    bool(name, fallback) {
      const raw = str(name);
      if (raw === undefined) return fallback;
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off)$/i.test(raw)) return false;
      problems.push(`${name} must be true or false (got "${raw}")`);
      return fallback;
    },
    list(name, fallback) {
      const raw = str(name);
      if (raw === undefined) return fallback;
      return raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    },
  };
}
