import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EkuaibaoForm } from '../../../functions/core/model/forms.js';
import { startEkuaibaoSandbox } from '../../../infra/local/sandbox/server.js';
import type { EkuaibaoSandbox } from '../../../infra/local/sandbox/types.js';
import { call, getToken, withToken } from './sandbox-client.js';

interface Page {
  count: number;
  items: EkuaibaoForm[];
}

describe('sandbox forms', () => {
  let sandbox: EkuaibaoSandbox;
  let token: string;

  const list = async (query: string): Promise<{ status: number; page: Page; text: string }> => {
    const answer = await call(withToken(sandbox, `/api/openapi/v1.1/docs/getApplyList?${query}`, token));
    return {
      status: answer.status,
      page: answer.status === 200 ? JSON.parse(answer.text) : undefined,
      text: answer.text,
    };
  };
  const details = (query: string, byCode = false) =>
    call(withToken(sandbox, `/api/openapi/v1.1/flowDetails${byCode ? '/byCode' : ''}?${query}`, token));

  beforeAll(async () => {
    sandbox = await startEkuaibaoSandbox();
    token = await getToken(sandbox);
  });
  afterAll(async () => {
    await sandbox.close();
  });

  it('pages one type in updateTime order with the total in count', async () => {
    const first = await list('type=expense&start=0&count=2&orderBy=updateTime&orderByType=asc');
    const second = await list('type=expense&start=2&count=2&orderBy=updateTime&orderByType=asc');

    expect(first.page.count).toBe(3);
    expect(second.page.count).toBe(3);
    const all = [...first.page.items, ...second.page.items];
    expect(all.map((f) => f.code)).toEqual(['B26000001', 'B26000002', 'B26000003']);
    const times = all.map((f) => f.updateTime!);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(all.every((f) => f.formType === 'expense')).toBe(true);
  });

  it('reads startDate/endDate as China time, both ends inclusive', async () => {
    // B26000003 was updated 2026-03-03 07:30 China time (2026-03-02 23:30 UTC).
    const day = await list(
      'type=expense&start=0&count=10&startDate=2026-03-03 00:00:00&endDate=2026-03-03 23:59:59',
    );
    expect(day.page.items.map((f) => f.code)).toEqual(['B26000003']);

    const exact = await list(
      'type=expense&start=0&count=10&startDate=2026-03-02 16:45:30&endDate=2026-03-02 16:45:30',
    );
    expect(exact.page.items.map((f) => f.code)).toEqual(['B26000002']);
  });

  it('lists deleted forms flagged active:false unless active=true', async () => {
    const all = await list('type=loan&start=0&count=10');
    const live = await list('type=loan&start=0&count=10&active=true');

    expect(all.page.count).toBe(2);
    expect(all.page.items.find((f) => f.code === 'J26000002')?.active).toBe(false);
    expect(all.page.items.find((f) => f.code === 'J26000001')?.active).toBe(true);
    expect(live.page.items.map((f) => f.code)).toEqual(['J26000001']);
  });

  it.each([
    'type=bogus&start=0&count=10',
    'start=0&count=10',
    'type=expense&start=0&count=0',
    'type=expense&start=0&count=101',
    'type=expense&start=-1&count=10',
    'type=expense&start=0&count=10&startDate=2026-03-03',
    'type=expense&start=0&count=10&endDate=2026-02-30 00:00:00',
    'type=expense&start=0&count=10&orderByType=up',
  ])('answers 400 for %s', async (query) => {
    const { status, text } = await list(query);
    expect(status).toBe(400);
    expect(JSON.parse(text)).toMatchObject({ errorCode: 400, errorMessage: expect.any(String) });
  });

  it('gives a form by flowId and by code, with its attachments', async () => {
    const byId = await details('flowId=ID_3kPq8Xz1a01');
    const byCode = await details('code=B26000001', true);

    expect(byId.status).toBe(200);
    expect(JSON.parse(byCode.text)).toEqual(JSON.parse(byId.text));
    const form = JSON.parse(byId.text).value as EkuaibaoForm;
    expect(form.id).toBe('ID_3kPq8Xz1a01');
    expect(form.form?.attachments).toEqual(
      expect.arrayContaining([expect.objectContaining({ fileId: expect.any(String) })]),
    );
  });

  it('answers 412 for an unknown form, a deleted one, and one deleted at run time', async () => {
    expect((await details('flowId=ID_nothing')).status).toBe(412);
    expect((await details('code=J26000002', true)).status).toBe(412);

    sandbox.deleteForm('ID_3kPq8Xz1e01');
    const gone = await details('flowId=ID_3kPq8Xz1e01');
    const listed = await list('type=payment&start=0&count=10');

    expect(gone.status).toBe(412);
    expect(JSON.parse(gone.text)).toMatchObject({ errorCode: 412 });
    expect(listed.page.items.map((f) => f.active)).toEqual([false]);
  });

  it('lists a form added with putForm', async () => {
    sandbox.putForm({
      id: 'ID_new',
      code: 'R1',
      formType: 'receipt',
      updateTime: Date.UTC(2026, 3, 1),
      form: {},
    });
    const { page } = await list('type=receipt&start=0&count=10');
    expect(page.items.map((f) => f.id)).toEqual(['ID_new']);
  });
});
