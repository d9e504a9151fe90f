/**
 * CSV manifests (RFC 4180): a header row naming the columns (id, key, fileName, targetKey; any order, any case;
 * other columns ignored), then one ref per record. Quoted fields may hold commas, `""` and newlines, so a record
 * can span lines; it is reported by its first line number. A record that cannot be parsed (a quote never closed,
 * text after a closing quote, longer than the line cap) is one bad line, and parsing resumes on the line after
 * its first, so one stray quote costs one line rather than the rest of the file.
 */
import { ValidationError } from '../errors.js';
import type { JobItem as ManifestItem } from '../model/job.js';
import { manifestItemFrom } from './manifest-item.js';
import {
  lineProblem,
  MAX_LINE_BYTES,
  type ManifestLine,
  type ManifestStream,
  manifestLines,
} from './manifest-lines.js';

const COLUMNS = { id: 'id', key: 'key', filename: 'fileName', targetkey: 'targetKey' } as const;
type Field = (typeof COLUMNS)[keyof typeof COLUMNS];
const REQUIRED: Field[] = ['id', 'key'];

type RecordResult = { line: number; fields: string[] } | { line: number; problem: string } | undefined;

/** Pulls lines with a push-back buffer, so a failed multi-line record can give its later lines back. */
class LineReader {
  private readonly back: ManifestLine[] = [];
  constructor(private readonly it: AsyncIterator<ManifestLine>) {}
  async next(): Promise<ManifestLine | undefined> {
    const b = this.back.pop();
    if (b !== undefined) return b;
    const r = await this.it.next();
    return r.done ? undefined : r.value;
  }
  pushBack(lines: ManifestLine[]): void {
    for (let i = lines.length - 1; i >= 0; i--) this.back.push(lines[i] as ManifestLine);
  }
}

/** The next non-blank record, or undefined at the end. */
async function nextRecord(reader: LineReader, maxBytes: number): Promise<RecordResult> {
  let first: ManifestLine | undefined;
  do {
    first = await reader.next();
    if (first === undefined) return undefined;
  } while ('text' in first && first.text.trim() === '');
  const problem = lineProblem(first, maxBytes);
  if (problem !== undefined || !('text' in first))
    return { line: first.line, problem: problem ?? 'unreadable' };

  const consumed: ManifestLine[] = [first];
  const fields: string[] = [];
  let field = '';
  let inQuotes = false;
  let afterQuote = false;
  let size = first.text.length;
  let text = first.text;
  const fail = (message: string): RecordResult => {
    reader.pushBack(consumed.slice(1));
    return { line: first.line, problem: message };
  };

  for (;;) {
    for (let i = 0; i < text.length; i++) {
      const c = text[i] as string;
      if (inQuotes) {
        if (c === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i++;
          } else {
            inQuotes = false;
            afterQuote = true;
          }
        } else {
          field += c;
        }
      } else if (c === ',') {
        fields.push(field);
        field = '';
        afterQuote = false;
      } else if (afterQuote) {
        return fail(`unexpected text after the closing quote of field ${fields.length + 1}`);
      } else if (c === '"' && field === '') {
        inQuotes = true;
      } else {
        // A quote inside an unquoted field is kept as is: lenient, and unambiguous.
        field += c;
      }
    }
    if (!inQuotes) break;
    // The quoted field goes on: its newline is part of the value.
    const next = await reader.next();
    if (next === undefined) return fail('a quoted field is not closed before the end of the file');
    consumed.push(next);
    const p = lineProblem(next, maxBytes);
    if (p !== undefined || !('text' in next))
      return fail(`a quoted field runs into line ${next.line}, which ${p}`);
    size += next.text.length + 1;
    if (size > maxBytes) return fail(`record is longer than ${maxBytes} bytes`);
    field += '\n';
    text = next.text;
  }
  fields.push(field);
  return { line: first.line, fields };
}

export interface CsvManifestOptions {
  maxLineBytes?: number;
}

/** Throws ValidationError (the whole manifest is unusable) when the header lacks a required column. */
export async function* parseCsvManifest(
  source: ManifestStream,
  options: CsvManifestOptions = {},
): AsyncGenerator<ManifestItem> {
  const maxBytes = options.maxLineBytes ?? MAX_LINE_BYTES;
  const reader = new LineReader(manifestLines(source, maxBytes)[Symbol.asyncIterator]());
  const header = await nextRecord(reader, maxBytes);
  if (header === undefined) return;
  if ('problem' in header) {
    throw new ValidationError(
      `CSV manifest: the header row (line ${header.line}) is unreadable: ${header.problem}`,
    );
  }
  const columns = new Map<Field, number>();
  header.fields.forEach((name, index) => {
    const field = COLUMNS[name.trim().toLowerCase() as keyof typeof COLUMNS];
    if (field === undefined) return;
    if (columns.has(field)) {
      throw new ValidationError(`CSV manifest: the header row names the column "${field}" twice`);
    }
    columns.set(field, index);
  });
  const missing = REQUIRED.filter((f) => !columns.has(f));
  if (missing.length > 0) {
    throw new ValidationError(
      `CSV manifest: the header row lacks the column${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(' and ')} (found: ${header.fields.map((f) => `"${f.trim()}"`).join(', ')})`,
    );
  }
  const width = header.fields.length;
  for (;;) {
    const rec = await nextRecord(reader, maxBytes);
    if (rec === undefined) return;
    if ('problem' in rec) {
      yield { bad: { line: rec.line, message: rec.problem } };
      continue;
    }
    if (rec.fields.length > width) {
      yield {
        bad: {
          line: rec.line,
          message: `has ${rec.fields.length} fields but the header has ${width} (quote values that contain commas)`,
        },
      };
      continue;
    }
    const raw: Record<string, string> = {};
    for (const [field, index] of columns) {
      const v = rec.fields[index];
      if (v !== undefined && !(v === '' && REQUIRED.includes(field))) raw[field] = v;
    }
    yield manifestItemFrom(raw, rec.line);
  }
}
