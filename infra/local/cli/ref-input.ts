/**
 * Reads refs for `ekb-archive resolve`: JSON lines of `{"id","key"}` (other fields ignored), or one JSON array
 * (the vendor's own downloadurls body works as is). A bad line is reported with its number and skipped; the good
 * lines still run.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { BadInput } from '../../../functions/core/model/job.js';
import type { AttachmentRef } from '../../../functions/core/model/refs.js';

export interface RefInput {
  refs: Array<AttachmentRef & { line: number }>;
  bad: BadInput[];
}

function refProblem(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return 'expected a JSON object {"id", "key"}';
  }
  const o = value as Record<string, unknown>;
  const id = typeof o.id === 'number' && Number.isSafeInteger(o.id) ? String(o.id) : o.id;
  if (typeof id !== 'string' || id.trim() === '') return 'field "id" must be a non-empty string';
  if (typeof o.key !== 'string' || o.key === '') return 'field "key" must be a non-empty string';
  return undefined;
}

function toRef(value: unknown, line: number): AttachmentRef & { line: number } {
  const o = value as { id: string | number; key: string };
  return { id: String(o.id), key: o.key, line };
}

/** Parses the whole text (used for small inputs and tests). */
export function parseRefText(text: string): RefInput {
  const trimmed = text.trimStart();
  const out: RefInput = { refs: [], bad: [] };
  if (trimmed.startsWith('[')) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      out.bad.push({ line: 1, message: `not valid JSON (${(err as Error).message})` });
      return out;
    }
    (value as unknown[]).forEach((item, i) => {
      const problem = refProblem(item);
      if (problem) out.bad.push({ line: i + 1, message: `item ${i + 1}: ${problem}` });
      else out.refs.push(toRef(item, i + 1));
    });
    return out;
  }
  for (const [i, raw] of text.split(/\r?\n/).entries()) addLine(out, raw, i + 1);
  return out;
}

function addLine(out: RefInput, raw: string, line: number): void {
  const text = raw.trim();
  if (text === '' || text.startsWith('#')) return;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    out.bad.push({ line, message: 'not valid JSON' });
    return;
  }
  const problem = refProblem(value);
  if (problem) out.bad.push({ line, message: problem });
  else out.refs.push(toRef(value, line));
}

/** Reads a file path or `-` (stdin). A JSON array is read whole; JSON lines are streamed. */
export async function readRefs(source: string, stdin: Readable): Promise<RefInput> {
  const stream = source === '-' ? stdin : createReadStream(source, { encoding: 'utf8' });
  stream.setEncoding?.('utf8');
  const out: RefInput = { refs: [], bad: [] };
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  let arrayText: string[] | undefined;
  let line = 0;
  for await (const raw of lines) {
    line += 1;
    if (arrayText) {
      arrayText.push(raw);
      continue;
    }
    if (
      line === 1 &&
      raw
        .replace(/^\uFEFF/, '')
        .trimStart()
        .startsWith('[')
    ) {
      arrayText = [raw.replace(/^\uFEFF/, '')];
      continue;
    }
    addLine(out, line === 1 ? raw.replace(/^\uFEFF/, '') : raw, line);
  }
  return arrayText ? parseRefText(arrayText.join('\n')) : out;
}
