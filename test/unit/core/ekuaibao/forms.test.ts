import { describe, expect, it } from 'vitest';
import { validateApplyListQuery } from '../../../../functions/core/ekuaibao/forms.js';
import { ValidationError } from '../../../../functions/core/errors.js';
import type { ApplyListQuery } from '../../../../functions/core/model/forms.js';

describe('validateApplyListQuery', () => {
  const ok: ApplyListQuery = { type: 'expense', start: 0, count: 100 };

  it('accepts a sound query', () => {
    expect(() => validateApplyListQuery(ok)).not.toThrow();
    expect(() =>
      validateApplyListQuery({ ...ok, startDate: '2025-06-01 00:00:00', active: true }),
    ).not.toThrow();
  });

  it('rejects count outside 1..100, a bad type, start or date', () => {
    for (const bad of [
      { ...ok, count: 0 },
      { ...ok, count: 101 },
      { ...ok, count: 1.5 },
      { ...ok, type: 'invoice' as never },
      { ...ok, start: -1 },
      { ...ok, startDate: '2025-06-01' },
      { ...ok, orderByType: 'up' as never },
    ]) {
      expect(() => validateApplyListQuery(bad)).toThrow(ValidationError);
    }
    expect(() => validateApplyListQuery({ ...ok, count: 101 })).toThrow(
      /count must be an integer from 1 to 100/,
    );
  });
});
