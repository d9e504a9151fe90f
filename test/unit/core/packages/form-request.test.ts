import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../../functions/core/errors.js';
import type { ApplyListQuery, EkuaibaoForm } from '../../../../functions/core/model/forms.js';
import {
  parseFormArchiveRequest,
  readStoredRequest,
  requestForms,
} from '../../../../functions/core/packages/form-request.js';
import type { FormItem } from '../../../../functions/core/packages/package-job.js';
import type { FormsSource } from '../../../../functions/core/ports.js';

const NOW = Date.UTC(2026, 2, 6, 4, 0, 0);

async function collect(it: AsyncIterable<FormItem>): Promise<FormItem[]> {
  const out: FormItem[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('parseFormArchiveRequest', () => {
  it('keeps codes and ids trimmed and once each', () => {
    expect(parseFormArchiveRequest({ codes: [' B1 ', 'B2', 'B1'] })).toEqual({
      kind: 'codes',
      codes: ['B1', 'B2'],
    });
    expect(parseFormArchiveRequest({ ids: ['ID_1'] })).toEqual({ kind: 'ids', ids: ['ID_1'] });
  });

  it('writes a range in China time whatever form the dates came in', () => {
    expect(
      parseFormArchiveRequest(
        { since: '2026-03-01', until: '2026-03-02T00:00:00Z', formTypes: ['loan', 'loan'] },
        () => NOW,
      ),
    ).toEqual({
      kind: 'range',
      since: '2026-03-01 00:00:00',
      until: '2026-03-02 08:00:00',
      formTypes: ['loan'],
    });
  });

  it.each([
    [{ codes: Array.from({ length: 1001 }, (_, i) => `C${i}`) }, /at most 1000/],
    [{ since: '2026-03-07' }, /"since" is in the future/],
    [{ ids: [1] }, /ids\[0\] must be a non-empty string/],
    [{ codes: ['x'.repeat(129)] }, /codes\[0\] must be at most 128/],
  ])('refuses %j', (body, message) => {
    expect(() => parseFormArchiveRequest(body, () => NOW)).toThrow(ValidationError);
    expect(() => parseFormArchiveRequest(body, () => NOW)).toThrow(message);
  });
});

describe('readStoredRequest', () => {
  it('reads back what the API stored, checked again (a hand-written object too)', () => {
    expect(
      readStoredRequest({ v: 1, jobId: 'j1', requestedAt: 't', request: { kind: 'ids', ids: ['A'] } }),
    ).toEqual({
      v: 1,
      jobId: 'j1',
      requestedAt: 't',
      request: { kind: 'ids', ids: ['A'] },
    });
    expect(() => readStoredRequest({ request: { kind: 'ids', ids: ['A'] } })).toThrow(/"v": 1/);
    expect(() => readStoredRequest({ v: 1, request: { kind: 'range', since: 'soon' } })).toThrow(
      ValidationError,
    );
  });
});

describe('requestForms', () => {
  const forms: EkuaibaoForm[] = [
    { id: 'A', code: 'B1', formType: 'expense', updateTime: 1 },
    { id: 'L', code: 'J1', formType: 'loan', updateTime: 2 },
  ];
  const queries: ApplyListQuery[] = [];
  const source: FormsSource = {
    getFlowDetails: async (by) => forms.find((f) => ('code' in by ? f.code === by.code : f.id === by.flowId)),
    getApplyList: async (q) => {
      queries.push(q);
      const items = forms.filter((f) => f.formType === q.type);
      return { count: items.length, items };
    },
  };

  it('fetches each code and names the unknown ones as bad lines by position', async () => {
    const items = await collect(
      requestForms({ kind: 'codes', codes: ['B1', 'NOPE', 'J1'] }, { forms: source, now: () => NOW }),
    );
    expect(items).toEqual([
      { form: forms[0] },
      { bad: { line: 2, message: 'codes[1] NOPE: 合思 has no such form (unknown or deleted)' } },
      { form: forms[1] },
    ]);
  });

  it('lists a range type by type, up to now when no end is given', async () => {
    queries.length = 0;
    const items = await collect(
      requestForms(
        { kind: 'range', since: '2026-03-01 00:00:00', formTypes: ['loan', 'expense'] },
        { forms: source, now: () => NOW, pagePauseMs: 0 },
      ),
    );
    expect(items.map((i) => ('form' in i ? i.form.id : 'bad'))).toEqual(['L', 'A']);
    expect(queries.map((q) => [q.type, q.startDate, q.endDate])).toEqual([
      ['loan', '2026-03-01 00:00:00', '2026-03-06 12:00:00'],
      ['expense', '2026-03-01 00:00:00', '2026-03-06 12:00:00'],
    ]);
  });
});
