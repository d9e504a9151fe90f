/** The forms side of the 合思 client (getApplyList, listForms, getFlowDetails) against the sandbox's demo tenant. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEkuaibaoClient, type EkuaibaoClient } from '../../../functions/core/ekuaibao/client.js';
import { demoForms } from '../../../infra/local/sandbox/demo-data.js';
import { startEkuaibaoSandbox } from '../../../infra/local/sandbox/server.js';
import type { EkuaibaoSandbox } from '../../../infra/local/sandbox/types.js';

let sandbox: EkuaibaoSandbox;
let client: EkuaibaoClient;
const pauses: number[] = [];

beforeAll(async () => {
  sandbox = await startEkuaibaoSandbox();
  client = createEkuaibaoClient({
    baseUrl: sandbox.baseUrl,
    credentials: () => ({ appKey: sandbox.appKey, appSecurity: sandbox.appSecurity }),
    sleep: async (ms) => {
      pauses.push(ms);
    },
  });
});

afterAll(async () => {
  await client.close();
  await sandbox.close();
});

const forms = demoForms();

describe('forms against the sandbox', () => {
  it('listForms pages through every form of a type, oldest update first, pausing between pages', async () => {
    const expense = forms.filter((f) => f.formType === 'expense');
    expect(expense.length).toBeGreaterThan(2);
    const before = sandbox.stats.applyListCalls;
    pauses.length = 0;
    const got = [];
    for await (const f of client.listForms({ type: 'expense', pageSize: 2, pauseMs: 200 })) got.push(f);
    expect(got.map((f) => f.id).sort()).toEqual(expense.map((f) => f.id).sort());
    const times = got.map((f) => f.updateTime ?? 0);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    const pages = sandbox.stats.applyListCalls - before;
    expect(pages).toBe(Math.ceil(expense.length / 2));
    expect(pauses).toEqual(Array.from({ length: pages - 1 }, () => 200));
  });

  it('getApplyList returns the total count and one page', async () => {
    const page = await client.getApplyList({ type: 'expense', start: 0, count: 1 });
    expect(page.items).toHaveLength(1);
    expect(page.count).toBe(forms.filter((f) => f.formType === 'expense').length);
  });

  it('getFlowDetails finds a form by id and by code, and answers undefined for a deleted one', async () => {
    const live = forms.find((f) => f.active !== false)!;
    expect((await client.getFlowDetails({ flowId: live.id }))?.code).toBe(live.code);
    expect((await client.getFlowDetails({ code: live.code! }))?.id).toBe(live.id);
    const deleted = forms.find((f) => f.active === false);
    expect(deleted).toBeDefined();
    expect(await client.getFlowDetails({ flowId: deleted!.id })).toBeUndefined();
    expect(await client.getFlowDetails({ flowId: 'ID_does_not_exist' })).toBeUndefined();
  });
});
