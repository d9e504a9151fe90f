import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../../functions/core/errors.js';
import { parseBatchMessage } from '../../../../functions/core/jobs/batch-message.js';

const good = { v: 1, jobId: 'job-1', batchId: 'b00001', refs: [{ id: 'a', key: 'k' }] };

function refusal(body: string): string {
  try {
    parseBatchMessage(body);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as Error).message;
  }
  throw new Error('expected a ValidationError');
}

describe('parseBatchMessage', () => {
  it('reads a well-formed message, keeping an optional key template', () => {
    expect(parseBatchMessage(JSON.stringify(good))).toEqual(good);
    expect(parseBatchMessage(JSON.stringify({ ...good, keyTemplate: 'x/{fileName}' })).keyTemplate).toBe(
      'x/{fileName}',
    );
  });

  it('keeps onConflict "overwrite"', () => {
    expect(parseBatchMessage(JSON.stringify({ ...good, onConflict: 'overwrite' })).onConflict).toBe(
      'overwrite',
    );
  });

  it('passes single refs through unchecked (a bad one fails alone in the engine)', () => {
    const m = parseBatchMessage(JSON.stringify({ ...good, refs: [{ id: 'a' }, 'junk'] }));
    expect(m.refs).toHaveLength(2);
  });

  it.each([
    ['not json', 'not JSON'],
    ['[]', 'JSON object'],
    [JSON.stringify({ ...good, v: 2 }), 'v must be 1'],
    [JSON.stringify({ ...good, jobId: '../etc' }), 'jobId'],
    [JSON.stringify({ ...good, jobId: undefined }), 'jobId'],
    [JSON.stringify({ ...good, batchId: 'b/1' }), 'batchId'],
    [JSON.stringify({ ...good, refs: [] }), 'non-empty array'],
    [JSON.stringify({ ...good, refs: {} }), 'non-empty array'],
    [JSON.stringify({ ...good, refs: Array.from({ length: 101 }, () => good.refs[0]) }), 'at most 100'],
    [JSON.stringify({ ...good, keyTemplate: '' }), 'keyTemplate'],
    [JSON.stringify({ ...good, onConflict: 'replace' }), 'onConflict'],
  ])('refuses %s naming the problem', (body, words) => {
    expect(refusal(body)).toContain(words);
  });
});

describe('parseBatchMessage: form packages', () => {
  const pkg = {
    flowId: 'F1',
    code: 'B1',
    formType: 'expense',
    updateTime: 1_772_414_100_000,
    version: '20260302T011500.000Z',
    state: 'paid',
    root: 'forms/expense/B1/',
  };

  it('keeps the packages a message carries, split parts included', () => {
    const withPart = { ...pkg, part: { index: 2, of: 2, batchIds: ['b00001', 'b00002'] } };
    expect(parseBatchMessage(JSON.stringify({ ...good, packages: [withPart] })).packages).toEqual([withPart]);
  });

  it.each([
    [[], /packages must be a non-empty array/],
    [[{ ...pkg, root: '' }], /packages\[0\]\.root must be a non-empty string/],
    [[{ ...pkg, updateTime: '1' }], /packages\[0\]\.updateTime/],
    [[{ ...pkg, part: { index: 1, of: 2, batchIds: ['../x'] } }], /packages\[0\]\.part/],
  ])('refuses packages %j', (packages, message) => {
    expect(refusal(JSON.stringify({ ...good, packages }))).toMatch(message);
  });
});
