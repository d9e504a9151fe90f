import { describe, expect, it } from 'vitest';
import { parseResolveRequestBody } from '../../../../functions/core/attachments/resolve-request.js';
import {
  buildResolveAnswer,
  formatResolveBody,
  NOT_FOUND_COUNT_HEADER,
  resolveAnswerHeaders,
} from '../../../../functions/core/attachments/resolve-response.js';
import { AppError } from '../../../../functions/core/errors.js';
import type { Resolution } from '../../../../functions/core/model/resolution.js';

const T = Date.parse('2025-06-23T05:30:00Z');
const DP_KEY =
  'DP:{"fileId":"136634437985","fileName":"128163bbba83.jpg","fileSize":2985928,"fileType":"jpg","spaceId":"7215288789"}';

const resolved = (id: string, key: string, extra: Partial<Resolution> = {}): Resolution =>
  ({
    status: 'resolved',
    id,
    key,
    url: `https://h.example/${id}`,
    thumbUrl: `https://h.example/t/${id}`,
    expiresAt: T,
    ...extra,
  }) as Resolution;
const missing = (id: string, key: string): Resolution => ({ status: 'not_found', id, key });

describe('buildResolveAnswer', () => {
  const items = parseResolveRequestBody(
    JSON.stringify([
      { id: 'a', key: 'ka' },
      { id: 'gone', key: 'kg' },
      { id: 136634573449, key: DP_KEY },
      { id: 'a', key: 'ka' },
      { id: 'gone', key: 'kg' },
    ]),
    { maxRefs: 10 },
  );
  const resolutions: Resolution[] = [
    resolved('a', 'ka', { fileName: 'a.pdf' } as Partial<Resolution>),
    missing('gone', 'kg'),
    resolved('136634573449', DP_KEY, {
      headers: { Authorization: 'OSS x:y', 'x-oss-date': 'Tue, 04 Jun 2024 02:36:44 GMT' },
      fileName: '128163bbba83.jpg',
      fileType: 'jpg',
      fileSize: 2985928,
    } as Partial<Resolution>),
    resolved('a', 'ka', { fileName: 'a.pdf' } as Partial<Resolution>),
    missing('gone', 'kg'),
  ];

  it('answers found refs in request order, each duplicate at its own position, in the vendor shape', () => {
    const answer = buildResolveAnswer(items, resolutions);
    expect(answer.items.map((i) => i.id)).toEqual(['a', 136634573449, 'a']);
    expect(answer.items[0]).toEqual({
      id: 'a',
      key: 'ka',
      url: 'https://h.example/a',
      thumbUrl: 'https://h.example/t/a',
      fileName: 'a.pdf',
      expiresAt: '2025-06-23T05:30:00.000Z',
    });
    expect(Object.keys(answer.items[0] ?? {}).slice(0, 4)).toEqual(['id', 'key', 'url', 'thumbUrl']);
  });

  it('echoes a numeric id as sent and carries DP: headers and file facts', () => {
    const dp = buildResolveAnswer(items, resolutions).items[1];
    expect(dp).toEqual({
      id: 136634573449,
      key: DP_KEY,
      url: 'https://h.example/136634573449',
      thumbUrl: 'https://h.example/t/136634573449',
      headers: { Authorization: 'OSS x:y', 'x-oss-date': 'Tue, 04 Jun 2024 02:36:44 GMT' },
      fileName: '128163bbba83.jpg',
      fileType: 'jpg',
      fileSize: 2985928,
      expiresAt: '2025-06-23T05:30:00.000Z',
    });
  });

  it('reports every not-found position with its index, id and key', () => {
    const answer = buildResolveAnswer(items, resolutions);
    expect(answer.notFound).toEqual([
      { index: 1, id: 'gone', key: 'kg' },
      { index: 4, id: 'gone', key: 'kg' },
    ]);
    expect(resolveAnswerHeaders(answer)).toEqual({ [NOT_FOUND_COUNT_HEADER]: '2' });
  });

  it('leaves thumbUrl out when the resolver had none', () => {
    const one = parseResolveRequestBody('[{"id":"a","key":"ka"}]', { maxRefs: 1 });
    const r = resolved('a', 'ka');
    delete (r as { thumbUrl?: string }).thumbUrl;
    expect(buildResolveAnswer(one, [r]).items[0]).not.toHaveProperty('thumbUrl');
  });

  it('formats the vendor bare array by default and items + notFound for report=full', () => {
    const answer = buildResolveAnswer(items, resolutions);
    expect(formatResolveBody(answer, 'vendor')).toBe(answer.items);
    expect(formatResolveBody(answer, 'full')).toEqual({ items: answer.items, notFound: answer.notFound });
  });

  it('answers with an empty array and the count when nothing was found', () => {
    const one = parseResolveRequestBody('[{"id":"x","key":"kx"}]', { maxRefs: 1 });
    const answer = buildResolveAnswer(one, [missing('x', 'kx')]);
    expect(formatResolveBody(answer, 'vendor')).toEqual([]);
    expect(resolveAnswerHeaders(answer)[NOT_FOUND_COUNT_HEADER]).toBe('1');
  });

  it('refuses resolutions that do not line up with the request', () => {
    expect(() => buildResolveAnswer(items, resolutions.slice(1))).toThrow(AppError);
    const swapped = [...resolutions];
    [swapped[0], swapped[1]] = [swapped[1] as Resolution, swapped[0] as Resolution];
    expect(() => buildResolveAnswer(items, swapped)).toThrow(/another ref at position 0/);
  });
});
