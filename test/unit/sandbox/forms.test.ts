import { describe, expect, it } from 'vitest';
import {
  findAttachmentObjects,
  formatChinaTime,
  parseApplyListQuery,
  parseChinaTime,
} from '../../../infra/local/sandbox/forms.js';

describe('sandbox China time', () => {
  it('reads yyyy-MM-dd HH:mm:ss as UTC+8', () => {
    expect(parseChinaTime('2026-03-03 08:00:00')).toBe(Date.UTC(2026, 2, 3, 0, 0, 0));
    expect(formatChinaTime(Date.UTC(2026, 2, 2, 23, 30, 0))).toBe('2026-03-03 07:30:00');
  });

  it.each([
    '2026-02-30 00:00:00',
    '2026-03-03T08:00:00',
    '2026-03-03',
    '2026-13-01 00:00:00',
    '2026-03-03 24:00:00',
  ])('refuses %s', (text) => {
    expect(parseChinaTime(text)).toBeUndefined();
  });
});

describe('sandbox getApplyList query', () => {
  const parse = (q: string) => parseApplyListQuery(new URLSearchParams(q));

  it('parses a full query, the end inclusive to the second', () => {
    expect(
      parse(
        'type=loan&start=20&count=100&orderBy=updateTime&orderByType=desc&startDate=2026-03-01 00:00:00&endDate=2026-03-02 00:00:00&active=true',
      ),
    ).toEqual({
      type: 'loan',
      start: 20,
      count: 100,
      orderBy: 'updateTime',
      orderByType: 'desc',
      from: Date.UTC(2026, 1, 28, 16),
      to: Date.UTC(2026, 2, 1, 16) + 999,
      active: true,
    });
  });

  it('defaults start, ordering and active', () => {
    expect(parse('type=custom&count=5')).toEqual({
      type: 'custom',
      start: 0,
      count: 5,
      orderBy: 'updateTime',
      orderByType: 'asc',
    });
  });

  it.each([
    'type=expense',
    'type=expense&count=1.5',
    'type=expense&count=5&active=yes',
    'type=expense&count=5&orderBy=x',
  ])('answers an error message for %s', (q) => {
    expect(typeof parse(q)).toBe('string');
  });
});

describe('sandbox attachment walk', () => {
  it('finds objects with fileId and key at any depth, custom fields included', () => {
    const found = findAttachmentObjects({
      form: {
        u_附件: [{ fileId: 'a', key: 'ka' }],
        details: [{ feeTypeForm: { x: { y: [{ fileId: 'b', key: 'kb' }] } } }],
      },
      logs: [{ attachments: [{ fileId: 'c', key: 'kc' }, { fileId: 'd' }] }],
    });
    expect(found.map((a) => a.fileId)).toEqual(['a', 'b', 'c']);
  });
});
