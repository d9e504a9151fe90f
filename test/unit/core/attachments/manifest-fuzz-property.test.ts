/**
 * Bad input never crashes the manifest parsers: for any bytes, text or JSON structure, in any chunking, every
 * format either yields items (each bad one with a 1-based line number and a message) or stops with a
 * ValidationError naming why the whole manifest cannot be used. Nothing else may escape.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ManifestFormat, parseManifest } from '../../../../functions/core/attachments/manifest.js';
import { ValidationError } from '../../../../functions/core/errors.js';
import type { JobItem } from '../../../../functions/core/model/job.js';

async function* chunked(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

interface Outcome {
  items: JobItem[];
  error?: ValidationError;
}

async function parseAll(
  bytes: Uint8Array,
  size: number,
  format?: ManifestFormat,
  name?: string,
): Promise<Outcome> {
  const items: JobItem[] = [];
  try {
    for await (const item of parseManifest(chunked(bytes, size), {
      ...(format ? { format } : {}),
      ...(name ? { name } : {}),
      maxLineBytes: 512,
    })) {
      items.push(item);
    }
    return { items };
  } catch (err) {
    // The only way out is a ValidationError with a message a person can act on.
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).message.length).toBeGreaterThan(0);
    return { items, error: err as ValidationError };
  }
}

function assertWellFormed(outcome: Outcome, lineCount: number): void {
  let lastLine = 0;
  for (const item of outcome.items) {
    if ('bad' in item) {
      expect(Number.isInteger(item.bad.line)).toBe(true);
      expect(item.bad.line).toBeGreaterThanOrEqual(1);
      expect(item.bad.message.trim().length).toBeGreaterThan(0);
      lastLine = Math.max(lastLine, item.bad.line);
    } else {
      expect(typeof item.ok.id).toBe('string');
      expect(item.ok.id.trim()).not.toBe('');
      expect(typeof item.ok.key).toBe('string');
      expect(item.ok.key).not.toBe('');
      expect(item.line).toBeGreaterThanOrEqual(1);
      lastLine = Math.max(lastLine, item.line);
    }
  }
  // Line numbers point into the input (JSON arrays count items, which never outnumber the bytes).
  expect(lastLine).toBeLessThanOrEqual(Math.max(1, lineCount));
}

const formats = fc.constantFrom<ManifestFormat | undefined>('jsonl', 'csv', 'json', undefined);
const lineCountOf = (bytes: Uint8Array): number => Math.max(bytes.length, 1);

/** Text built from the characters manifests are made of, so the parsers get past their first checks. */
const manifestish = fc.string({
  unit: fc.constantFrom(
    '{',
    '}',
    '[',
    ']',
    '"',
    ',',
    ':',
    '\n',
    '\r',
    ' ',
    '\\',
    'id',
    'key',
    'fileName',
    'targetKey',
    'DP:',
    '1',
    'a',
    'null',
    'true',
    '名',
    '\u0000',
    '\ufeff',
  ),
  maxLength: 200,
});

describe('manifest parsers on arbitrary input', () => {
  it('survive arbitrary bytes in every format and chunking', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 300 }),
        fc.integer({ min: 1, max: 40 }),
        formats,
        async (bytes, size, format) => {
          assertWellFormed(await parseAll(bytes, size, format), lineCountOf(bytes));
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('survive manifest-like text (brackets, quotes, keys, NULs, BOMs) in every format', async () => {
    await fc.assert(
      fc.asyncProperty(manifestish, fc.integer({ min: 1, max: 40 }), formats, async (text, size, format) => {
        const bytes = Buffer.from(text, 'utf8');
        assertWellFormed(await parseAll(bytes, size, format), lineCountOf(bytes));
      }),
      { numRuns: 2000 },
    );
  });

  it('turn any JSON value per line into a ref or a bad line naming that line', async () => {
    const field = fc.oneof(
      fc.string({ maxLength: 6 }),
      fc.integer(),
      fc.constant(null),
      fc.jsonValue({ maxDepth: 2 }),
    );
    const value = fc.oneof(
      fc.jsonValue({ maxDepth: 4 }),
      fc.record({ id: field, key: field, fileName: field, targetKey: field }, { requiredKeys: [] }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(value, { maxLength: 12 }), async (values) => {
        const text = values.map((v) => JSON.stringify(v)).join('\n');
        const { items, error } = await parseAll(Buffer.from(text, 'utf8'), 17, 'jsonl');
        expect(error).toBeUndefined();
        // Every line is accounted for exactly once, in order.
        expect(items.map((i) => ('bad' in i ? i.bad.line : i.line))).toEqual(values.map((_v, i) => i + 1));
        for (const [i, item] of items.entries()) {
          const v = values[i];
          if ('ok' in item) {
            // A ref only comes from an object whose id and key it carries unchanged.
            expect(v !== null && typeof v === 'object' && !Array.isArray(v)).toBe(true);
            const o = v as Record<string, unknown>;
            expect(item.ok.id).toBe(String(o.id));
            expect(item.ok.key).toBe(o.key);
          } else {
            // The message names the field at fault, or says the line is not an object.
            expect(item.bad.message).toMatch(
              /"(id|key|fileName|targetKey)"|must be an object|longer than 512 bytes/,
            );
          }
        }
      }),
      { numRuns: 1500 },
    );
  });

  it('read any JSON array of arbitrary items: one result per item, numbered from 1', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.jsonValue({ maxDepth: 3 }),
            fc.record({ id: fc.string({ maxLength: 8 }), key: fc.string({ maxLength: 8 }) }),
          ),
          { maxLength: 12 },
        ),
        fc.integer({ min: 1, max: 30 }),
        async (values, size) => {
          const bytes = Buffer.from(JSON.stringify(values), 'utf8');
          const { items, error } = await parseAll(bytes, size, 'json');
          expect(error).toBeUndefined();
          expect(items.map((i) => ('bad' in i ? i.bad.line : i.line))).toEqual(values.map((_v, i) => i + 1));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('stop a deeply nested JSON array with a ValidationError or bad items, never a stack overflow', async () => {
    for (const depth of [100, 10_000, 200_000]) {
      const bytes = Buffer.from(`[${'['.repeat(depth)}${']'.repeat(depth)}]`, 'utf8');
      const outcome = await parseAll(bytes, 4096, 'json');
      assertWellFormed(outcome, 1);
      expect(outcome.error !== undefined || outcome.items.every((i) => 'bad' in i)).toBe(true);
    }
    const deepLine = Buffer.from(
      `{"id":"a","key":"k","x":${'['.repeat(5_000)}${']'.repeat(5_000)}}\n`,
      'utf8',
    );
    const outcome = await parseAll(deepLine, 1024, 'jsonl');
    assertWellFormed(outcome, 1);
  });
});
