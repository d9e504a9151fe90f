/** Property tests: whatever arrives, the parser answers with the items or a 400/413 error, never anything else. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseResolveRequestBody } from '../../../../functions/core/attachments/resolve-request.js';
import { TooLargeError, ValidationError } from '../../../../functions/core/errors.js';

const MAX = 50;

function outcome(body: string): 'ok' | 'invalid' | 'too_large' {
  try {
    parseResolveRequestBody(body, { maxRefs: MAX });
    return 'ok';
  } catch (err) {
    if (err instanceof TooLargeError) return 'too_large';
    if (err instanceof ValidationError) return 'invalid';
    throw err;
  }
}

/** Values shaped like requests: near-miss items with every field drawn from plausible and implausible values. */
const idLike = fc.oneof(
  fc.string(),
  fc.stringMatching(/^[0-9]{1,15}$/),
  fc.integer(),
  fc.double(),
  fc.constant(Number.MAX_SAFE_INTEGER + 2),
  fc.constant(null),
  fc.boolean(),
  fc.constant(undefined),
  fc.array(fc.string(), { maxLength: 2 }),
);
const keyLike = fc.oneof(
  fc.string(),
  fc.string().map((s) => `DP:${s}`),
  fc.jsonValue().map((v) => `DP:${JSON.stringify(v)}`),
  fc.constant(''),
  fc.integer(),
  fc.constant(undefined),
  fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 }),
);
const expirationLike = fc.oneof(
  fc.integer({ min: -10, max: 4000 }),
  fc.double(),
  fc.constant(undefined),
  fc.constant(null),
  fc.string({ maxLength: 5 }),
);
const itemLike = fc.oneof(
  fc.record({ id: idLike, key: keyLike, expiration: expirationLike }, { requiredKeys: [] }),
  fc.jsonValue({ maxDepth: 2 }),
);
const bodyLike = fc.oneof(
  fc.array(itemLike, { maxLength: MAX + 5 }).map((items) => JSON.stringify(items)),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.array(itemLike, { minLength: 1, maxLength: 5 }).map((items) => JSON.stringify(items).slice(0, -1)),
);

describe('parseResolveRequestBody (property)', () => {
  it('never throws anything but ValidationError or TooLargeError, for thousands of random bodies', () => {
    fc.assert(
      fc.property(bodyLike, (body) => {
        expect(['ok', 'invalid', 'too_large']).toContain(outcome(body));
      }),
      { numRuns: 4_000 },
    );
  });

  it('accepts every well-formed body and echoes each id and key at its position', () => {
    const good = fc.array(
      fc.record(
        {
          id: fc.oneof(
            fc.string({ minLength: 1 }).filter((s) => s.trim() !== ''),
            fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
          ),
          key: fc.string({ minLength: 1 }).filter((s) => !s.startsWith('DP:')),
          expiration: fc.integer({ min: 1, max: 1800 }),
        },
        { requiredKeys: ['id', 'key'] },
      ),
      { minLength: 1, maxLength: MAX },
    );
    fc.assert(
      fc.property(good, (items) => {
        const parsed = parseResolveRequestBody(JSON.stringify(items), { maxRefs: MAX });
        expect(parsed.map((p) => p.sentId)).toEqual(items.map((i) => i.id));
        expect(parsed.map((p) => p.ref.key)).toEqual(items.map((i) => i.key));
        expect(parsed.map((p) => p.ref.id)).toEqual(items.map((i) => String(i.id)));
        expect(parsed.map((p) => p.expiration)).toEqual(items.map((i) => i.expiration ?? 1800));
      }),
      { numRuns: 1_000 },
    );
  });

  it('answers 413 for every array longer than maxRefs, whatever it holds', () => {
    fc.assert(
      fc.property(
        fc.array(fc.jsonValue({ maxDepth: 1 }), { minLength: MAX + 1, maxLength: MAX + 20 }),
        (arr) => {
          expect(outcome(JSON.stringify(arr))).toBe('too_large');
        },
      ),
      { numRuns: 200 },
    );
  });
});
