import { describe, expect, it } from 'vitest';
import {
  groupByExpiration,
  parseReportMode,
  parseResolveRequest,
  parseResolveRequestBody,
} from '../../../../functions/core/attachments/resolve-request.js';
import { TooLargeError, ValidationError } from '../../../../functions/core/errors.js';

const opts = { maxRefs: 5_000 };
const DP_KEY =
  'DP:{"fileId":"136634437985","fileName":"128163bbba83.jpg","fileSize":2985928,"fileType":"jpg","spaceId":"7215288789"}';

function refused(body: string, maxRefs = 5_000): ValidationError | TooLargeError {
  try {
    parseResolveRequestBody(body, { maxRefs });
  } catch (err) {
    if (err instanceof ValidationError || err instanceof TooLargeError) return err;
    throw err;
  }
  throw new Error('expected the body to be refused');
}

describe('parseResolveRequestBody', () => {
  it('reads the vendor curl example body item by item', () => {
    const body = JSON.stringify([
      {
        id: '61sbwX3DEAgk00',
        key: 'openapi0306c2d1-7a5b-4e96-8172-60c5ee0f971e-kotlin简介.docx',
        expiration: 1000,
      },
      { id: '136634573449', key: DP_KEY, expiration: 1000 },
    ]);
    const items = parseResolveRequestBody(body, opts);
    expect(items).toEqual([
      {
        index: 0,
        sentId: '61sbwX3DEAgk00',
        ref: { id: '61sbwX3DEAgk00', key: 'openapi0306c2d1-7a5b-4e96-8172-60c5ee0f971e-kotlin简介.docx' },
        expiration: 1000,
      },
      { index: 1, sentId: '136634573449', ref: { id: '136634573449', key: DP_KEY }, expiration: 1000 },
    ]);
  });

  it('defaults a missing or null expiration to 1800 seconds', () => {
    const items = parseResolveRequestBody(
      '[{"id":"a","key":"k"},{"id":"b","key":"k","expiration":null}]',
      opts,
    );
    expect(items.map((i) => i.expiration)).toEqual([1800, 1800]);
  });

  it('accepts a numeric id, sends it as its decimal string and keeps the value as sent', () => {
    const [item] = parseResolveRequestBody('[{"id":136634573449,"key":"k"}]', opts);
    expect(item?.ref.id).toBe('136634573449');
    expect(item?.sentId).toBe(136634573449);
  });

  it('keeps keys byte for byte, surrounding spaces included', () => {
    const [item] = parseResolveRequestBody('[{"id":"a","key":"  spaced name .pdf "}]', opts);
    expect(item?.ref.key).toBe('  spaced name .pdf ');
  });

  it('ignores unknown fields on an item', () => {
    const [item] = parseResolveRequestBody('[{"id":"a","key":"k","fileName":"x.pdf","extra":[1]}]', opts);
    expect(item?.ref).toEqual({ id: 'a', key: 'k' });
  });

  it.each([
    ['', /^body is empty/],
    ['   \n', /^body is empty/],
    ['{not json', /^body is not valid JSON/],
    ['[{"id":"a","key":"k"},]', /^body is not valid JSON/],
    ['{"id":"a","key":"k"}', /^body must be a JSON array .* \(got an object\)$/],
    ['"text"', /^body must be a JSON array .* \(got the string "text"\)$/],
    ['null', /^body must be a JSON array .* \(got null\)$/],
    ['42', /^body must be a JSON array .* \(got the number 42\)$/],
    ['[]', /^body must hold at least one item/],
  ])('refuses the body %j with 400 and says why', (body, message) => {
    const err = refused(body);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.status).toBe(400);
    expect(err.message).toMatch(message);
  });

  it.each([
    ['[{"id":"a","key":"k"}, "x"]', 'item 1 must be an object with "id" and "key" (got the string "x")'],
    ['[null]', 'item 0 must be an object with "id" and "key" (got null)'],
    ['[[1,2]]', 'item 0 must be an object with "id" and "key" (got an array)'],
    ['[{"key":"k"}]', 'item 0: "id" must be a non-empty string or a non-negative safe integer (got nothing)'],
    [
      '[{"id":"","key":"k"}]',
      'item 0: "id" must be a non-empty string or a non-negative safe integer (got an empty string)',
    ],
    [
      '[{"id":"  ","key":"k"}]',
      'item 0: "id" must be a non-empty string or a non-negative safe integer (got a blank string)',
    ],
    [
      '[{"id":true,"key":"k"}]',
      'item 0: "id" must be a non-empty string or a non-negative safe integer (got true)',
    ],
    [
      '[{"id":1.5,"key":"k"}]',
      'item 0: "id" must be a non-empty string or a non-negative safe integer (got the number 1.5)',
    ],
    [
      '[{"id":-3,"key":"k"}]',
      'item 0: "id" must be a non-empty string or a non-negative safe integer (got the number -3)',
    ],
    [
      '[{"id":"a","key":"k"},{"id":"b","key":"k"},{"id":"c","key":"k"},{"id":9007199254740993,"key":"k"}]',
      'item 3: "id" must be a non-empty string or a non-negative safe integer (got the number 9007199254740992)',
    ],
    ['[{"id":"a","key":"k"},{"id":"b"}]', 'item 1: "key" must be a non-empty string (got nothing)'],
    ['[{"id":"a","key":""}]', 'item 0: "key" must be a non-empty string (got an empty string)'],
    ['[{"id":"a","key":7}]', 'item 0: "key" must be a non-empty string (got the number 7)'],
    ['[{"id":"a","key":{"k":1}}]', 'item 0: "key" must be a non-empty string (got an object)'],
    [
      '[{"id":"a","key":"k","expiration":0}]',
      'item 0: "expiration" must be an integer number of seconds from 1 to 1800 (got the number 0)',
    ],
    [
      '[{"id":"a","key":"k","expiration":1801}]',
      'item 0: "expiration" must be an integer number of seconds from 1 to 1800 (got the number 1801)',
    ],
    [
      '[{"id":"a","key":"k","expiration":99.5}]',
      'item 0: "expiration" must be an integer number of seconds from 1 to 1800 (got the number 99.5)',
    ],
    [
      '[{"id":"a","key":"k","expiration":"1000"}]',
      'item 0: "expiration" must be an integer number of seconds from 1 to 1800 (got the string "1000")',
    ],
    [
      '[{"id":"a","key":"k","expiration":-1}]',
      'item 0: "expiration" must be an integer number of seconds from 1 to 1800 (got the number -1)',
    ],
  ])('refuses %s naming the item and field', (body, message) => {
    const err = refused(body);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toBe(message);
  });

  it.each([
    ['DP:{"fileId":"1",', /^item 2: "key" is a DP: key whose JSON is broken \(.*not valid JSON/],
    ['DP:', /^item 2: "key" is a DP: key whose JSON is broken/],
    ['DP:[1,2]', /^item 2: "key" is a DP: key whose JSON is broken \(.*JSON object/],
    ['DP:"text"', /^item 2: "key" is a DP: key whose JSON is broken/],
  ])('refuses a DP: key %j whose JSON is broken, naming item and field', (key, message) => {
    const body = JSON.stringify([
      { id: 'a', key: 'k' },
      { id: 'b', key: DP_KEY },
      { id: 'c', key },
    ]);
    const err = refused(body);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toMatch(message);
  });

  it('answers 413 for more items than maxRefs, before looking at any item', () => {
    const body = JSON.stringify(Array.from({ length: 11 }, () => 'not even an object'));
    const err = refused(body, 10);
    expect(err).toBeInstanceOf(TooLargeError);
    expect(err.status).toBe(413);
    expect(err.message).toBe(
      'body holds 11 items; at most 10 are accepted per request (split it into several requests)',
    );
  });

  it('accepts exactly maxRefs items, far above the vendor limit of 100', () => {
    const body = JSON.stringify(Array.from({ length: 5_000 }, (_, i) => ({ id: `f${i}`, key: `k${i}` })));
    const items = parseResolveRequestBody(body, opts);
    expect(items).toHaveLength(5_000);
    expect(items[4_999]?.index).toBe(4_999);
  });

  it('keeps a long value short in the message', () => {
    const err = refused(JSON.stringify([{ id: 'a', key: 'k', expiration: 'x'.repeat(500) }]));
    expect(err.message.length).toBeLessThan(200);
    expect(err.message).toContain('…');
  });
});

describe('parseResolveRequest', () => {
  it('validates an already-parsed value the same way', () => {
    expect(() => parseResolveRequest({ refs: [] }, opts)).toThrow(ValidationError);
    expect(parseResolveRequest([{ id: 'a', key: 'k' }], opts)).toHaveLength(1);
  });
});

describe('groupByExpiration', () => {
  it('makes one group per distinct expiration, in first-seen order, keeping item order inside a group', () => {
    const items = parseResolveRequestBody(
      JSON.stringify([
        { id: 'a', key: 'k', expiration: 600 },
        { id: 'b', key: 'k' },
        { id: 'c', key: 'k', expiration: 600 },
        { id: 'd', key: 'k', expiration: 1800 },
      ]),
      opts,
    );
    const groups = groupByExpiration(items);
    expect(groups.map((g) => [g.expiration, g.items.map((i) => i.ref.id)])).toEqual([
      [600, ['a', 'c']],
      [1800, ['b', 'd']],
    ]);
  });
});

describe('parseReportMode', () => {
  it('reads absent, vendor and full', () => {
    expect(parseReportMode(undefined)).toBe('vendor');
    expect(parseReportMode('')).toBe('vendor');
    expect(parseReportMode('vendor')).toBe('vendor');
    expect(parseReportMode('full')).toBe('full');
  });

  it('refuses any other value with 400 naming the parameter', () => {
    expect(() => parseReportMode('FULL')).toThrow('query parameter "report" must be "full" or "vendor"');
  });
});
