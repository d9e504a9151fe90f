import { afterEach, describe, expect, it } from 'vitest';
import { createEkuaibaoClient, type EkuaibaoClient } from '../../../../functions/core/ekuaibao/client.js';
import { ValidationError } from '../../../../functions/core/errors.js';
import type { EkuaibaoForm } from '../../../../functions/core/model/forms.js';
import {
  APPLY_LIST_PATH,
  type FakeEkb,
  FLOW_DETAILS_PATH,
  type Handler,
  sendJson,
  startFakeEkb,
  TOKEN_PATH,
} from './fake-ekb-server.js';

const CREDS = { appKey: 'k', appSecurity: 's-secret' };
const FORMS: EkuaibaoForm[] = Array.from({ length: 5 }, (_, i) => ({
  id: `F${i}`,
  code: `B24000${i}`,
  updateTime: 1_700_000_000_000 + i,
  formType: 'expense',
  form: { attachments: [{ fileId: `file${i}`, key: `k${i}.pdf`, fileName: `${i}.pdf` }] },
}));

let server: FakeEkb | undefined;
let client: EkuaibaoClient | undefined;

afterEach(async () => {
  await client?.close();
  await server?.close();
  client = undefined;
  server = undefined;
});

const formsServer: Handler = (req, res) => {
  if (req.path === TOKEN_PATH) {
    sendJson(res, 200, { value: { accessToken: 'ID01x:T', expireTime: Date.now() + 7_200_000 } });
    return;
  }
  if (req.path === APPLY_LIST_PATH) {
    const start = Number(req.query.get('start'));
    const count = Number(req.query.get('count'));
    sendJson(res, 200, { count: FORMS.length, items: FORMS.slice(start, start + count) });
    return;
  }
  if (req.path === FLOW_DETAILS_PATH || req.path === `${FLOW_DETAILS_PATH}/byCode`) {
    const form = FORMS.find((f) => f.id === req.query.get('flowId') || f.code === req.query.get('code'));
    if (!form) sendJson(res, 412, { errorCode: 412, errorMessage: '单据不存在' });
    else sendJson(res, 200, { value: form });
    return;
  }
  sendJson(res, 404, 'no route');
};

async function setup() {
  server = await startFakeEkb(formsServer);
  const sleeps: number[] = [];
  client = createEkuaibaoClient({
    baseUrl: server.baseUrl,
    credentials: () => CREDS,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  });
  return { server, client, sleeps };
}

describe('forms', () => {
  it('getApplyList sends the query with the token and returns {count, items}', async () => {
    const { server, client } = await setup();
    const page = await client.getApplyList({
      type: 'expense',
      start: 2,
      count: 2,
      startDate: '2025-06-01 00:00:00',
      endDate: '2025-06-02 00:00:00',
      active: true,
    });
    expect(page).toEqual({ count: 5, items: FORMS.slice(2, 4) });
    const q = server.requests.find((r) => r.path === APPLY_LIST_PATH)!.query;
    expect(Object.fromEntries(q)).toEqual({
      type: 'expense',
      start: '2',
      count: '2',
      orderBy: 'updateTime',
      orderByType: 'asc',
      startDate: '2025-06-01 00:00:00',
      endDate: '2025-06-02 00:00:00',
      active: 'true',
      accessToken: 'ID01x:T',
    });
  });

  it('getApplyList rejects count outside 1..100 before calling', async () => {
    const { server, client } = await setup();
    await expect(client.getApplyList({ type: 'expense', start: 0, count: 101 })).rejects.toBeInstanceOf(
      ValidationError,
    );
    expect(server.requests).toHaveLength(0);
  });

  it('listForms pages through everything, pausing between pages', async () => {
    const { client, sleeps } = await setup();
    const got: string[] = [];
    for await (const f of client.listForms({ type: 'expense', pageSize: 2, pauseMs: 150 })) got.push(f.id);
    expect(got).toEqual(FORMS.map((f) => f.id));
    expect(sleeps).toEqual([150, 150]);
    expect(client.stats.applyListCalls).toBe(3);
  });

  it('getFlowDetails finds by flowId or code and answers undefined on 412', async () => {
    const { client } = await setup();
    expect(await client.getFlowDetails({ flowId: 'F1' })).toEqual(FORMS[1]);
    expect(await client.getFlowDetails({ code: 'B240003' })).toEqual(FORMS[3]);
    expect(await client.getFlowDetails({ flowId: 'gone' })).toBeUndefined();
    await expect(client.getFlowDetails({ flowId: '' })).rejects.toBeInstanceOf(ValidationError);
  });
});
