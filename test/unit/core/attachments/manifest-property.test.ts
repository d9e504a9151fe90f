import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseManifest } from '../../../../functions/core/attachments/manifest.js';
import type { JobItem } from '../../../../functions/core/model/job.js';
import type { CopyRef } from '../../../../functions/core/model/refs.js';

/** Any text a ref field may hold, commas, quotes, brackets, newlines and CJK included. */
const text = fc.string({
  unit: fc.constantFrom(
    'a',
    'Z',
    '0',
    ' ',
    ',',
    '"',
    "'",
    '[',
    ']',
    '{',
    '}',
    '\\',
    '\n',
    '\r\n',
    '名',
    '📄',
    ':',
  ),
  minLength: 1,
  maxLength: 30,
});
const ref = fc.record(
  {
    id: text.filter((s) => s.trim() !== ''),
    key: text.filter((s) => !s.startsWith('DP:')),
    fileName: text,
  },
  { requiredKeys: ['id', 'key'] },
);

function csvCell(s: string): string {
  return `"${s.replaceAll('"', '""')}"`;
}

async function* chunked(s: string, size: number): AsyncGenerator<Uint8Array> {
  const bytes = Buffer.from(s, 'utf8');
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

async function refsOf(items: AsyncIterable<JobItem>): Promise<CopyRef[]> {
  const out: CopyRef[] = [];
  for await (const item of items) {
    if ('bad' in item) throw new Error(`unexpected bad line ${item.bad.line}: ${item.bad.message}`);
    out.push(item.ok);
  }
  return out;
}

describe('manifest parsing round trips', () => {
  it('reads back any refs written as quoted CSV, whatever the chunking', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(ref, { maxLength: 20 }),
        fc.integer({ min: 1, max: 64 }),
        async (refs, size) => {
          const rows = refs.map((r) => [r.id, r.key, r.fileName ?? ''].map(csvCell).join(','));
          const csv = `id,key,fileName\r\n${rows.join('\r\n')}\r\n`;
          // A CRLF inside a quoted value comes back as LF: lines are split on LF and their CR dropped.
          const expected = refs.map((r) => {
            const out: CopyRef = { id: r.id.replaceAll('\r\n', '\n'), key: r.key.replaceAll('\r\n', '\n') };
            if (r.fileName !== undefined) out.fileName = r.fileName.replaceAll('\r\n', '\n');
            return out;
          });
          expect(await refsOf(parseManifest(chunked(csv, size), { name: 'm.csv' }))).toEqual(expected);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('reads back any refs written as a JSON array or JSON Lines, whatever the chunking', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(ref, { maxLength: 20 }),
        fc.integer({ min: 1, max: 64 }),
        fc.boolean(),
        async (refs, size, pretty) => {
          const array = JSON.stringify(refs, null, pretty ? 2 : undefined);
          expect(await refsOf(parseManifest(chunked(array, size), { name: 'm.json' }))).toEqual(refs);
          const lines = refs.map((r) => JSON.stringify(r)).join('\n');
          expect(await refsOf(parseManifest(chunked(lines, size), { name: 'm.jsonl' }))).toEqual(refs);
        },
      ),
      { numRuns: 150 },
    );
  });
});
