import { describe, expect, it, vi } from 'vitest';
import { listForms } from '../../../../functions/core/ekuaibao/list-forms.js';
import { AbortedError } from '../../../../functions/core/errors.js';
import type { ApplyListPage, ApplyListQuery, EkuaibaoForm } from '../../../../functions/core/model/forms.js';

const forms = (n: number): EkuaibaoForm[] =>
  Array.from({ length: n }, (_, i) => ({ id: `F${i}`, code: `B${i}`, updateTime: 1_700_000_000_000 + i }));

function source(all: EkuaibaoForm[], total = all.length) {
  const queries: ApplyListQuery[] = [];
  const getApplyList = vi.fn(async (q: ApplyListQuery): Promise<ApplyListPage> => {
    queries.push(q);
    return { count: total, items: all.slice(q.start, q.start + q.count) };
  });
  return { getApplyList, queries };
}

async function collect(it: AsyncIterable<EkuaibaoForm>): Promise<EkuaibaoForm[]> {
  const out: EkuaibaoForm[] = [];
  for await (const f of it) out.push(f);
  return out;
}

describe('listForms', () => {
  it('pages through every item with offsets and pauses between pages only', async () => {
    const src = source(forms(250));
    const sleeps: number[] = [];
    const got = await collect(
      listForms(
        src,
        { type: 'expense', startDate: '2025-01-01 00:00:00', pageSize: 100, pauseMs: 200 },
        async (ms) => {
          sleeps.push(ms);
        },
      ),
    );
    expect(got.map((f) => f.id)).toEqual(forms(250).map((f) => f.id));
    expect(src.queries.map((q) => [q.start, q.count])).toEqual([
      [0, 100],
      [100, 100],
      [200, 100],
    ]);
    expect(src.queries[0]).toMatchObject({
      type: 'expense',
      startDate: '2025-01-01 00:00:00',
      orderBy: 'updateTime',
      orderByType: 'asc',
    });
    expect(sleeps).toEqual([200, 200]);
  });

  it('stops on an empty page even if count claims more', async () => {
    const src = source(forms(3), 10);
    const got = await collect(listForms(src, { type: 'loan', pageSize: 3, pauseMs: 0 }));
    expect(got).toHaveLength(3);
    expect(src.getApplyList).toHaveBeenCalledTimes(2);
  });

  it('yields a form seen twice across shifting pages once', async () => {
    const pages: ApplyListPage[] = [
      { count: 4, items: [forms(4)[0]!, forms(4)[1]!] },
      { count: 4, items: [forms(4)[1]!, forms(4)[2]!] },
      { count: 4, items: [] },
    ];
    const getApplyList = vi.fn(async () => pages.shift()!);
    const got = await collect(listForms({ getApplyList }, { type: 'loan', pageSize: 2, pauseMs: 0 }));
    expect(got.map((f) => f.id)).toEqual(['F0', 'F1', 'F2']);
  });

  it('ends with AbortedError when aborted during the pause', async () => {
    const src = source(forms(5));
    const ctrl = new AbortController();
    const it = listForms(
      src,
      { type: 'expense', pageSize: 2, pauseMs: 200, signal: ctrl.signal },
      () => new Promise(() => {}),
    );
    await it.next();
    await it.next();
    const third = it.next();
    ctrl.abort();
    await expect(third).rejects.toBeInstanceOf(AbortedError);
  });
});
