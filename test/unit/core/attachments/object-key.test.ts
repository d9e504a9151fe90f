import { describe, expect, it } from 'vitest';
import {
  extensionOf,
  objectKeyFor,
  objectKeyProblem,
  originalFileName,
  sanitizeFileName,
} from '../../../../functions/core/attachments/object-key.js';
import { AppError } from '../../../../functions/core/errors.js';
import type { CopyRef } from '../../../../functions/core/model/refs.js';
import type { Resolution } from '../../../../functions/core/model/resolution.js';

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

function resolved(fileName?: string): Resolution {
  return {
    status: 'resolved',
    id: 'f1',
    key: 'k',
    url: 'https://oss.example/x?Signature=s',
    expiresAt: 0,
    ...(fileName === undefined ? {} : { fileName }),
  };
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return err.code;
    throw err;
  }
  throw new Error('expected an AppError');
}

describe('sanitizeFileName', () => {
  it('keeps CJK names and ordinary punctuation as they are', () => {
    expect(sanitizeFileName('发票 2024-03 (副本).pdf')).toBe('发票 2024-03 (副本).pdf');
  });

  it('replaces slashes and backslashes so a name cannot add a path segment', () => {
    expect(sanitizeFileName('../../etc/passwd')).toBe('.._.._etc_passwd');
    expect(sanitizeFileName('a\\b/c.txt')).toBe('a_b_c.txt');
  });

  it('turns names made only of dots, or empty after cleaning, into the fallback', () => {
    expect(sanitizeFileName('..')).toBe('file');
    expect(sanitizeFileName('.', 'f-1')).toBe('f-1');
    expect(sanitizeFileName('  \u0000\t ', 'f-2')).toBe('f-2');
    expect(sanitizeFileName('', '..')).toBe('file');
  });

  it('drops C0, DEL, C1 and bidi control characters', () => {
    expect(sanitizeFileName('in\u0000voice\u007f\u0085.pdf')).toBe('invoice.pdf');
    expect(sanitizeFileName('invoice\u202egpj.exe')).toBe('invoicegpj.exe');
    expect(sanitizeFileName('a\u2066b\u2069c\u200f.txt')).toBe('abc.txt');
  });

  it('normalises to NFC so the same name always gives the same key', () => {
    const decomposed = 'Cafe\u0301.pdf';
    expect(sanitizeFileName(decomposed)).toBe('Caf\u00e9.pdf');
  });

  it('replaces lone surrogates instead of producing invalid UTF-8', () => {
    const out = sanitizeFileName('bad\ud800name.txt');
    expect(out.isWellFormed()).toBe(true);
    expect(out.endsWith('name.txt')).toBe(true);
  });

  it('trims surrounding whitespace', () => {
    expect(sanitizeFileName('  report.pdf \n')).toBe('report.pdf');
  });

  it('caps long names at 200 UTF-8 bytes and keeps the extension', () => {
    const long = `${'报'.repeat(150)}.pdf`;
    const out = sanitizeFileName(long);
    expect(bytes(out)).toBeLessThanOrEqual(200);
    expect(out.endsWith('.pdf')).toBe(true);
    expect(out.startsWith('报报')).toBe(true);
    expect(out.isWellFormed()).toBe(true);
  });

  it('never splits a surrogate pair when capping', () => {
    const out = sanitizeFileName('😀'.repeat(100));
    expect(bytes(out)).toBeLessThanOrEqual(200);
    expect(out.isWellFormed()).toBe(true);
    expect(out).toBe('😀'.repeat(50));
  });

  it('caps a name whose "extension" is too long without keeping it whole', () => {
    const out = sanitizeFileName(`a.${'x'.repeat(300)}`);
    expect(bytes(out)).toBe(200);
  });
});

describe('extensionOf', () => {
  it('gives the lower-case extension without the dot', () => {
    expect(extensionOf('A.PDF')).toBe('pdf');
    expect(extensionOf('archive.tar.gz')).toBe('gz');
  });

  it('gives an empty string for names without one', () => {
    expect(extensionOf('README')).toBe('');
    expect(extensionOf('.bashrc')).toBe('');
    expect(extensionOf('trailing.')).toBe('');
  });
});

describe('objectKeyProblem', () => {
  it.each([
    ['', 'is empty'],
    ['/abs/key', "starts with '/'"],
    ['a//b', 'empty segment'],
    ['a/b/', 'empty segment'],
    ['a/../b', "'..'"],
    ['./a', "'.'"],
    ['a\u0001b', 'control'],
    ['a\u202eb', 'control'],
    ['a\\b', '\\'],
    ['k'.repeat(1025), '1024'],
    ['a\udc00', 'Unicode'],
  ])('refuses %j', (key, reason) => {
    expect(objectKeyProblem(key)).toContain(reason);
  });

  it('accepts ordinary keys, CJK and dots inside a segment', () => {
    expect(objectKeyProblem('attachments/1/发票..v2.pdf')).toBeUndefined();
    expect(objectKeyProblem('k'.repeat(1024))).toBeUndefined();
  });
});

describe('originalFileName', () => {
  it('prefers the ref fileName, then the resolver, then the DP: JSON, then the key segment, then the id', () => {
    const dp = 'DP:{"fileId":"9","fileName":"dp.jpg"}';
    expect(originalFileName({ id: 'i', key: 'a/b.txt', fileName: 'mine.pdf' }, resolved('res.pdf'))).toBe(
      'mine.pdf',
    );
    expect(originalFileName({ id: 'i', key: 'a/b.txt' }, resolved('res.pdf'))).toBe('res.pdf');
    expect(originalFileName({ id: 'i', key: dp }, resolved())).toBe('dp.jpg');
    expect(originalFileName({ id: 'i', key: 'a/b.txt' }, resolved())).toBe('b.txt');
    expect(
      originalFileName(
        { id: 'i', key: 'openapi0306c2d1-7a5b-4e96-8172-60c5ee0f971e-kotlin简介.docx' },
        undefined,
      ),
    ).toBe('kotlin简介.docx');
    expect(originalFileName({ id: 'i', key: 'DP:{broken' }, undefined)).toBe('i');
    expect(originalFileName({ id: 'i', key: 'a/' }, undefined)).toBe('i');
  });

  it('skips a candidate that is blank or only dots', () => {
    expect(originalFileName({ id: 'i', key: 'x/..', fileName: '  ' }, resolved('..'))).toBe('i');
  });
});

describe('objectKeyFor', () => {
  const ref: CopyRef = { id: 'ID_01', key: 'openapi-x-发票.pdf', fileName: '发票.pdf' };

  it('fills the default template attachments/{fileId}/{fileName}', () => {
    expect(objectKeyFor(ref, resolved(), undefined, 'job-1')).toBe('attachments/ID_01/发票.pdf');
  });

  it('fills every placeholder, with missing vars as "unknown"', () => {
    const key = objectKeyFor(
      { ...ref, vars: { flowCode: 'B24000123', formType: 'expense' } },
      resolved(),
      '{jobId}/{formType}/{flowCode}/{flowId}/{fileId}.{ext}/{fileName}',
      'job-1',
    );
    expect(key).toBe('job-1/expense/B24000123/unknown/ID_01.pdf/发票.pdf');
  });

  it('is deterministic for the same ref', () => {
    const a = objectKeyFor(ref, resolved('x.pdf'), undefined, 'j');
    const b = objectKeyFor({ ...ref }, resolved('x.pdf'), undefined, 'j');
    expect(a).toBe(b);
  });

  it('sanitises every placeholder value so none can add or climb a segment', () => {
    const key = objectKeyFor(
      { id: '../..', key: 'k', fileName: '../../x', vars: { flowCode: 'a/b', formType: '..' } },
      resolved(),
      'p/{formType}/{flowCode}/{fileId}/{fileName}',
      '/abs',
    );
    expect(key).toBe('p/unknown/a_b/.._../.._.._x');
    expect(objectKeyProblem(key)).toBeUndefined();
  });

  it('uses the fileId when no name is known', () => {
    expect(objectKeyFor({ id: 'F9', key: 'DP:{"fileId":"1"}' }, resolved(), undefined, 'j')).toBe(
      'attachments/F9/F9',
    );
  });

  it('uses a valid targetKey as is', () => {
    expect(objectKeyFor({ ...ref, targetKey: 'custom/发票 final.pdf' }, resolved(), undefined, 'j')).toBe(
      'custom/发票 final.pdf',
    );
  });

  it.each(['/abs.pdf', 'a/../b.pdf', 'a//b', 'a\u0000b', 'x'.repeat(1025), ''])(
    'refuses targetKey %j with invalid_target_key',
    (targetKey) => {
      expect(codeOf(() => objectKeyFor({ ...ref, targetKey }, resolved(), undefined, 'j'))).toBe(
        'invalid_target_key',
      );
    },
  );

  it('refuses a template with an unknown placeholder', () => {
    expect(codeOf(() => objectKeyFor(ref, resolved(), 'x/{nope}/{fileName}', 'j'))).toBe(
      'invalid_object_key',
    );
  });

  it('refuses a template that yields a bad key', () => {
    expect(codeOf(() => objectKeyFor(ref, resolved(), '/{fileName}', 'j'))).toBe('invalid_object_key');
    expect(codeOf(() => objectKeyFor({ id: 'i', key: 'README' }, resolved(), '{ext}/{fileName}', 'j'))).toBe(
      'invalid_object_key',
    );
  });

  it('stays within 1024 bytes for the longest names and ids', () => {
    const key = objectKeyFor(
      { id: '号'.repeat(400), key: 'k', fileName: `${'名'.repeat(400)}.pdf` },
      resolved(),
      'attachments/{fileId}/{fileName}',
      'j',
    );
    expect(bytes(key)).toBeLessThanOrEqual(1024);
    expect(key.endsWith('.pdf')).toBe(true);
  });
});
