/** Small numeric and table helpers for the benchmark report (no dependencies). */

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Nearest-rank percentile (p in 0..100). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const rank = Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length)));
  return s[rank - 1] as number;
}

export function fmt(n: number, digits = 1): string {
  if (!Number.isFinite(n)) return 'n/a';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export const mib = (bytes: number): number => bytes / (1024 * 1024);

/** MiB/s for `bytes` moved in `ms`. */
export const mibPerSec = (bytes: number, ms: number): number => mib(bytes) / (ms / 1000);

/** A Markdown table (also readable in a terminal). */
export function table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(' | ')} |`;
  return [line(headers), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

/**
 * Request tallies of several runs in one cell: `name n` when every run made the same number, `name min–max` when
 * they differed; names in the order first seen, zero for a run that lacked one.
 */
export function countsAcross(runs: ReadonlyArray<Readonly<Record<string, number>>>): string {
  const names: string[] = [];
  for (const r of runs) for (const k of Object.keys(r)) if (!names.includes(k)) names.push(k);
  return names
    .map((k) => {
      const xs = runs.map((r) => r[k] ?? 0);
      const lo = Math.min(...xs);
      const hi = Math.max(...xs);
      return lo === hi ? `${k} ${lo}` : `${k} ${lo}–${hi}`;
    })
    .join(', ');
}
