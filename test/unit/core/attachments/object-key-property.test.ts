/**
 * Names that come from 合思 or a manifest never steer where an object lands: whatever the file name, id, key or
 * template values, a generated key stays under its prefix (no '..' or '.' segment, no leading '/', no empty
 * segment, no backslash, no control or bidi character) and fits S3's 1024 bytes. DP: key parsing only ever
 * answers with a result or a ValidationError.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_FILE_NAME_BYTES,
  MAX_OBJECT_KEY_BYTES,
  objectKeyFor,
  objectKeyProblem,
  sanitizeFileName,
} from '../../../../functions/core/attachments/object-key.js';
import { parseDpKey } from '../../../../functions/core/attachments/ref.js';
import { AppError, ValidationError } from '../../../../functions/core/errors.js';
import type { CopyRef } from '../../../../functions/core/model/refs.js';

// biome-ignore lint/suspicious/noControlCharactersInRegex: looking for control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]/;

/** Names an attacker (or a careless uploader) would try: traversal, separators, controls, huge, any script. */
const hostileName = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 80 }),
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.string({
    unit: fc.constantFrom(
      '..',
      '.',
      '/',
      '\\',
      '\u0000',
      '\n',
      '\u202e',
      '\ufeff',
      ' ',
      '名',
      '📄',
      '%2e',
      'a',
      '\ud800',
    ),
    maxLength: 60,
  }),
  fc.constantFrom('..', '.', '/', '../../etc/passwd', '..\\..\\boot.ini', '/abs', '', ' ', '\u202egpj.exe'),
  fc.string({ unit: 'grapheme', minLength: 300, maxLength: 1200 }),
);

function assertSafeKey(key: string, prefix: string): void {
  expect(objectKeyProblem(key)).toBeUndefined();
  expect(key.startsWith(`${prefix}/`)).toBe(true);
  expect(key.startsWith('/')).toBe(false);
  expect(key.includes('\\')).toBe(false);
  expect(CONTROL.test(key)).toBe(false);
  expect(Buffer.byteLength(key, 'utf8')).toBeLessThanOrEqual(MAX_OBJECT_KEY_BYTES);
  for (const seg of key.split('/')) {
    expect(seg).not.toBe('');
    expect(seg).not.toBe('.');
    expect(seg).not.toBe('..');
  }
}

describe('sanitizeFileName', () => {
  it('always gives one safe, bounded segment', () => {
    fc.assert(
      fc.property(hostileName, (name) => {
        const s = sanitizeFileName(name);
        expect(s).not.toBe('');
        expect(s).not.toMatch(/^\.+$/);
        expect(s).not.toMatch(/[/\\]/);
        expect(CONTROL.test(s)).toBe(false);
        expect(s.isWellFormed()).toBe(true);
        expect(Buffer.byteLength(s, 'utf8')).toBeLessThanOrEqual(MAX_FILE_NAME_BYTES);
      }),
      { numRuns: 3000 },
    );
  });

  it('is idempotent (a sanitised name sanitises to itself)', () => {
    fc.assert(
      fc.property(hostileName, (name) => {
        const once = sanitizeFileName(name);
        expect(sanitizeFileName(once)).toBe(once);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('objectKeyFor', () => {
  const templates = fc.constantFrom(
    'attachments/{fileId}/{fileName}',
    'forms/{formType}/{flowCode}/{fileId}-{fileName}',
    'x/{jobId}/{flowId}/{ext}/{fileName}',
    'x/{fileName}',
  );

  it('keeps every generated key under its prefix, whatever the names, ids and template values', () => {
    fc.assert(
      fc.property(
        templates,
        hostileName,
        hostileName,
        hostileName,
        fc.record(
          { flowCode: hostileName, flowId: hostileName, formType: hostileName },
          { requiredKeys: [] },
        ),
        hostileName,
        (template, id, key, fileName, vars, jobId) => {
          const ref: CopyRef = { id: id === '' ? 'x' : id, key: key === '' ? 'k' : key, fileName, vars };
          let out: string;
          try {
            out = objectKeyFor(ref, undefined, template, jobId);
          } catch (err) {
            // A refusal is allowed only as a clear invalid_object_key, never a crash or a bad key.
            expect(err).toBeInstanceOf(AppError);
            expect((err as AppError).code).toBe('invalid_object_key');
            return;
          }
          assertSafeKey(out, template.split('/')[0] as string);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('takes the file name from a DP: key without letting it escape', () => {
    fc.assert(
      fc.property(hostileName, fc.string({ maxLength: 12 }), (fileName, id) => {
        const key = `DP:${JSON.stringify({ fileId: id, fileName, fileSize: 1, fileType: 'pdf', spaceId: '1' })}`;
        assertSafeKey(objectKeyFor({ id: id === '' ? 'x' : id, key }, undefined), 'attachments');
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts a targetKey only when it is itself safe', () => {
    fc.assert(
      fc.property(hostileName, (targetKey) => {
        try {
          const out = objectKeyFor({ id: 'x', key: 'k', targetKey }, undefined);
          expect(out).toBe(targetKey);
          expect(objectKeyProblem(out)).toBeUndefined();
        } catch (err) {
          expect((err as AppError).code).toBe('invalid_target_key');
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('parseDpKey', () => {
  const dpish = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 60 }).map((s) => `DP:${s}`),
    fc.jsonValue({ maxDepth: 3 }).map((v) => `DP:${JSON.stringify(v)}`),
    fc
      .record(
        {
          fileId: fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.object()),
          fileName: fc.oneof(fc.string({ unit: 'binary' }), fc.integer(), fc.constant(null)),
          fileSize: fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(-1), fc.constant(2 ** 60)),
          fileType: fc.oneof(fc.string(), fc.boolean()),
          spaceId: fc.oneof(fc.string(), fc.integer(), fc.array(fc.integer())),
        },
        { requiredKeys: [] },
      )
      .map((o) => `DP:${JSON.stringify(o)}`),
    fc.string({ maxLength: 40 }),
  );

  it('answers with a well-typed result, undefined for ordinary keys, or a ValidationError', () => {
    fc.assert(
      fc.property(dpish, (key) => {
        let info: ReturnType<typeof parseDpKey>;
        try {
          info = parseDpKey(key);
        } catch (err) {
          expect(err).toBeInstanceOf(ValidationError);
          expect(key.startsWith('DP:')).toBe(true);
          return;
        }
        if (!key.startsWith('DP:')) {
          expect(info).toBeUndefined();
          return;
        }
        expect(info).toBeTypeOf('object');
        const i = info as NonNullable<typeof info>;
        for (const f of ['fileId', 'fileName', 'fileType', 'spaceId'] as const) {
          if (i[f] !== undefined) expect(typeof i[f]).toBe('string');
        }
        if (i.fileSize !== undefined) {
          expect(Number.isSafeInteger(i.fileSize) && i.fileSize >= 0).toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
