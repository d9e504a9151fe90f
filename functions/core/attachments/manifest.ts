/**
 * One entry point for manifests. The format comes from the name (`.jsonl`/`.ndjson`, `.csv`, `.json`) or, for any
 * other name, from the first non-blank character (`[` → JSON array, `{` → JSON Lines, anything else → CSV); a
 * `.json`/`.jsonl` name whose content starts with the other JSON flavour's character is read as that flavour.
 * Every format yields the same items, `{ok: CopyRef, line}` or `{bad: {line, message}}`, as the stream is read:
 * a manifest is never held whole. A manifest that cannot be used at all (CSV header without "id", a file that is
 * not a JSON array) throws ValidationError; items already yielded stay valid.
 */
import type { JobItem } from '../model/job.js';
import { parseCsvManifest } from './manifest-csv.js';
import { manifestItemFrom } from './manifest-item.js';
import { parseJsonArrayManifest } from './manifest-json-array.js';
import { lineProblem, MAX_LINE_BYTES, type ManifestStream, manifestLines } from './manifest-lines.js';

export type ManifestFormat = 'jsonl' | 'csv' | 'json';

const EXTENSIONS: Readonly<Record<string, ManifestFormat>> = {
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.csv': 'csv',
  '.json': 'json',
};

/** The format a manifest's name announces (case-insensitive extension), or undefined. */
export function manifestFormatFromName(name: string): ManifestFormat | undefined {
  const lower = name.toLowerCase();
  const dot = lower.lastIndexOf('.');
  if (dot === -1 || dot < lower.lastIndexOf('/')) return undefined;
  return EXTENSIONS[lower.slice(dot)];
}

export interface ParseManifestOptions {
  /** The object key or file name: its extension picks the format. */
  name?: string;
  /** Overrides the name. */
  format?: ManifestFormat;
  maxLineBytes?: number;
}

export async function* parseManifest(
  source: ManifestStream,
  options: ParseManifestOptions = {},
): AsyncGenerator<JobItem> {
  const named = options.name === undefined ? undefined : manifestFormatFromName(options.name);
  let format = options.format ?? named;
  let input = source;
  // `.json` files often hold JSON Lines (and vice versa): for a name-derived JSON flavour, the first character
  // decides between the two. An explicit `format` is taken as is.
  if (format === undefined || (options.format === undefined && format !== 'csv')) {
    const peeked = await sniffManifest(source);
    input = peeked.source;
    if (format === undefined || peeked.format !== 'csv') format = peeked.format;
  }
  const maxLineBytes = options.maxLineBytes ?? MAX_LINE_BYTES;
  switch (format) {
    case 'jsonl':
      yield* parseJsonlManifest(input, maxLineBytes);
      return;
    case 'csv':
      yield* parseCsvManifest(input, { maxLineBytes });
      return;
    case 'json':
      yield* parseJsonArrayManifest(input, { maxItemChars: maxLineBytes });
      return;
  }
}

/** JSON Lines: one object per line; blank lines are skipped, each broken line is one bad line. */
export async function* parseJsonlManifest(
  source: ManifestStream,
  maxLineBytes: number = MAX_LINE_BYTES,
): AsyncGenerator<JobItem> {
  for await (const l of manifestLines(source, maxLineBytes)) {
    const problem = lineProblem(l, maxLineBytes);
    if (problem !== undefined || !('text' in l)) {
      yield { bad: { line: l.line, message: problem ?? 'unreadable' } };
      continue;
    }
    if (l.text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(l.text);
    } catch {
      yield { bad: { line: l.line, message: 'line is not valid JSON' } };
      continue;
    }
    yield manifestItemFrom(value, l.line);
  }
}

const BLANK = new Set([0x20, 0x09, 0x0a, 0x0d]);
const BOM = [0xef, 0xbb, 0xbf];

/**
 * Reads just enough of the stream to see its first non-blank character, then hands back a stream that replays
 * what was read. An empty or blank stream sniffs as JSON Lines (no items either way).
 */
export async function sniffManifest(
  source: ManifestStream,
): Promise<{ format: ManifestFormat; source: ManifestStream }> {
  const it = source[Symbol.asyncIterator]();
  const seen: Array<Uint8Array | string> = [];
  let offset = 0;
  let found: number | undefined;
  let done = false;
  while (found === undefined) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    seen.push(r.value);
    const bytes = typeof r.value === 'string' ? Buffer.from(r.value, 'utf8') : r.value;
    for (let i = 0; i < bytes.length; i++, offset++) {
      const b = bytes[i] as number;
      if (offset < 3 && b === BOM[offset]) continue;
      if (BLANK.has(b)) continue;
      found = b;
      break;
    }
  }
  const format: ManifestFormat =
    found === 0x5b ? 'json' : found === 0x7b || found === undefined ? 'jsonl' : 'csv';
  async function* replay(): AsyncGenerator<Uint8Array | string> {
    yield* seen;
    if (done) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  }
  return { format, source: replay() };
}
