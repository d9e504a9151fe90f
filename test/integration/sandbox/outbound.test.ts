/**
 * Outbound messages (出站消息) against a real receiver on 127.0.0.1: what is POSTed when a form changes state,
 * the success rule (codes, keyword), 合思's retry rule, the failure log outboundMessageLogs answers from, and the
 * control routes that play the admin and the approvers.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEkuaibaoSandbox } from '../../../infra/local/sandbox/server.js';
import type { EkuaibaoSandbox } from '../../../infra/local/sandbox/types.js';
import { call, getToken, withToken } from './sandbox-client.js';

interface Received {
  at: number;
  method: string;
  url: string;
  contentType: string | undefined;
  body: Record<string, unknown>;
}
type Responder = (res: ServerResponse) => void;

/** A receiver that records every request and answers with the next queued responder (default: 200 {}). */
class Receiver {
  readonly received: Received[] = [];
  readonly #queue: Responder[] = [];
  #server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    this.#server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const parts: Buffer[] = [];
      req.on('data', (d: Buffer) => parts.push(d));
      req.on('end', () => {
        this.received.push({
          at: Date.now(),
          method: req.method ?? '',
          url: req.url ?? '',
          contentType: req.headers['content-type'],
          body: JSON.parse(Buffer.concat(parts).toString('utf8')),
        });
        const respond = this.#queue.shift() ?? ((r: ServerResponse) => r.writeHead(200).end('{}'));
        respond(res);
      });
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server!.address() as AddressInfo).port}/hooks/ekuaibao?secret=s3cr3t`;
  }
  answer(...responders: Responder[]): void {
    this.#queue.push(...responders);
  }
  reset(): void {
    this.received.length = 0;
    this.#queue.length = 0;
  }
  async stop(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()));
  }
}

const status =
  (code: number, body = '') =>
  (res: ServerResponse) =>
    res.writeHead(code).end(body);

const A01 = 'ID_3kPq8Xz1a01';
const A02 = 'ID_3kPq8Xz1a02';
const C02 = 'ID_3kPq8Xz1c02';

describe('sandbox outbound messages', () => {
  const receiver = new Receiver();
  let clock = Date.UTC(2026, 2, 6, 4, 0, 0);
  let sandbox: EkuaibaoSandbox;
  let token: string;

  const logs = async (query: string) => {
    const answer = await call(withToken(sandbox, `/api/openapi/v1/outboundMessageLogs?${query}`, token));
    return { status: answer.status, json: JSON.parse(answer.text) };
  };
  const control = (path: string, body?: unknown, method: 'POST' | 'GET' = 'POST') =>
    call(`${sandbox.baseUrl}/_sandbox/${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  beforeAll(async () => {
    await receiver.start();
  });
  afterAll(async () => {
    await receiver.stop();
  });
  beforeEach(async () => {
    clock = Date.UTC(2026, 2, 6, 4, 0, 0);
    receiver.reset();
    sandbox = await startEkuaibaoSandbox({ now: () => clock });
    token = await getToken(sandbox);
  });
  afterEach(async () => {
    await sandbox.close();
  });

  it('POSTs the message when a form is paid: flowId, action flow.paid, actionName, nodeId, state, userInfo', async () => {
    sandbox.configureOutbound({ url: receiver.url });
    const before = sandbox.stats.outboundAttempts ?? 0;

    const approved = sandbox.transitionForm(A02, 'approve');
    clock += 60_000;
    const paid = sandbox.transitionForm(A02, 'pay');
    await sandbox.outboundSettled();

    expect(approved.state).toBe('paying');
    expect(paid.state).toBe('paid');
    expect(receiver.received).toHaveLength(2);
    const [first, second] = receiver.received;
    expect(first).toMatchObject({ method: 'POST', url: '/hooks/ekuaibao?secret=s3cr3t' });
    expect(first?.contentType).toMatch(/^application\/json/);
    expect(first?.body).toMatchObject({
      flowId: A02,
      action: 'backlog.paying',
      actionName: '待支付',
      state: 'paying',
    });
    expect(second?.body).toMatchObject({
      flowId: A02,
      code: 'B26000002',
      action: 'flow.paid',
      actionName: '已支付/审批完成',
      state: 'paid',
      nodeId: expect.stringMatching(/^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/),
      userInfo: { id: expect.any(String), name: expect.any(String) },
    });
    expect(second?.body.nodeId).not.toBe(first?.body.nodeId);
    expect((sandbox.stats.outboundAttempts ?? 0) - before).toBe(2);
    expect(sandbox.outboundDeliveries().map((d) => [d.action, d.state, d.statuses])).toEqual([
      ['backlog.paying', 'SUCCESS', [200]],
      ['flow.paid', 'SUCCESS', [200]],
    ]);

    // The form itself moved: state, a later updateTime and the approval log.
    const detail = JSON.parse(
      (await call(withToken(sandbox, `/api/openapi/v1.1/flowDetails?flowId=${A02}`, token))).text,
    ).value;
    expect(detail).toMatchObject({ state: 'paid', updateTime: clock });
    expect((detail.logs as { action: string }[]).map((l) => l.action).slice(-2)).toEqual([
      'freeflow.agree',
      'freeflow.pay',
    ]);
  });

  it('retries a failed delivery up to the configured count, the interval apart, then logs it as FAILURE', async () => {
    sandbox.configureOutbound({ url: receiver.url, successCodes: [204], retries: 2, retryIntervalMs: 150 });
    receiver.answer(status(200), status(500, 'oops'), status(503, '{"msg":"busy"}'));

    sandbox.transitionForm(A01, 'comment', { attachment: { fileName: '截图.png', size: 2048 } });
    await sandbox.outboundSettled();

    expect(receiver.received).toHaveLength(3);
    const gaps = receiver.received.slice(1).map((r, i) => r.at - receiver.received[i]!.at);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(140);
    expect(new Set(receiver.received.map((r) => JSON.stringify(r.body))).size).toBe(1);
    expect(sandbox.outboundDeliveries()).toEqual([
      expect.objectContaining({
        flowId: A01,
        action: 'freeflow.comment',
        state: 'FAILURE',
        statuses: [200, 500, 503],
      }),
    ]);

    const { status: code, json } = await logs(
      `messageType=message&startDate=${clock - 1}&endDate=${clock + 1}`,
    );
    expect(code).toBe(200);
    expect(json.items).toHaveLength(1);
    expect(json.items[0]).toMatchObject({
      flowId: A01,
      messageId: expect.any(String),
      state: 'FAILURE',
      type: 'INVOKING',
      createTime: clock,
      messageType: 'message',
      request: receiver.received[0]?.body,
      response: { msg: 'busy' },
      version: 3,
    });
    // The message's URL (and its secret) is nowhere in the log.
    expect(JSON.stringify(json)).not.toContain('s3cr3t');
  });

  it('answers {"items": []} for another messageType (the default is flow), outside the range, or none', async () => {
    sandbox.configureOutbound({ url: receiver.url, successCodes: [201] });
    sandbox.transitionForm(C02, 'reject');
    await sandbox.outboundSettled();

    const range = `startDate=${clock}&endDate=${clock}`;
    expect((await logs(`messageType=message&${range}`)).json.items).toHaveLength(1);
    expect((await logs(range)).json).toEqual({ items: [] });
    expect((await logs(`messageType=dataLink&${range}`)).json).toEqual({ items: [] });
    expect((await logs(`messageType=bogus&${range}`)).json).toEqual({ items: [] });
    expect((await logs(`messageType=message&startDate=${clock + 1}&endDate=${clock + 10}`)).json).toEqual({
      items: [],
    });
  });

  it('counts a success only with the keyword in the answer when one is set', async () => {
    sandbox.configureOutbound({ url: receiver.url, keyword: '"code":"1"', retries: 1, retryIntervalMs: 0 });
    receiver.answer(status(200, '{"code":"0"}'), status(200, '{"code":"1"}'));

    sandbox.transitionForm(A02, 'reject');
    await sandbox.outboundSettled();

    expect(sandbox.outboundDeliveries()).toEqual([
      expect.objectContaining({ action: 'flow.rejected', state: 'SUCCESS', statuses: [200, 200] }),
    ]);
    expect((await logs(`messageType=message&startDate=0&endDate=${clock}`)).json.items).toEqual([]);
  });

  it('logs a receiver that refuses connections or never answers, without hanging', async () => {
    sandbox.configureOutbound({ url: 'http://127.0.0.1:9/nobody-listens', retries: 1, retryIntervalMs: 0 });
    sandbox.transitionForm(A02, 'withdraw');
    await sandbox.outboundSettled();
    sandbox.configureOutbound({ url: receiver.url, timeoutMs: 200 });
    receiver.answer(() => {
      // never answers
    });
    sandbox.transitionForm(C02, 'approve');
    await sandbox.outboundSettled();

    const items = (await logs(`messageType=message&startDate=0&endDate=${clock}`)).json.items;
    expect(items.map((i: { flowId: string }) => i.flowId)).toEqual([A02, C02]);
    expect(items[0].response).toEqual({ error: 'ECONNREFUSED' });
    expect(items[1].response.error).toEqual(expect.any(String));
    expect(sandbox.outboundDeliveries().map((d) => d.statuses)).toEqual([[0, 0], [0]]);
  });

  it('sends only the configured actions, nothing when unconfigured, and stops on close', async () => {
    sandbox.transitionForm(C02, 'comment');
    sandbox.configureOutbound({ url: receiver.url, actions: ['flow.paid'] });
    sandbox.transitionForm(C02, 'approve');
    sandbox.transitionForm(A02, 'approve');
    sandbox.transitionForm(A02, 'pay');
    await sandbox.outboundSettled();

    expect(receiver.received.map((r) => [r.body.flowId, r.body.action])).toEqual([
      [C02, 'flow.paid'],
      [A02, 'flow.paid'],
    ]);

    // A retry waiting 10 s must not keep close() waiting.
    sandbox.configureOutbound({ url: receiver.url, retries: 3, retryIntervalMs: 10_000 });
    receiver.answer(status(500));
    sandbox.transitionForm(A01, 'comment');
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    await sandbox.close();
    expect(Date.now() - started).toBeLessThan(5_000);
    sandbox = await startEkuaibaoSandbox();
  });

  it('refuses a configuration the vendor console would refuse', () => {
    expect(() => sandbox.configureOutbound({ url: receiver.url, retries: 4 })).toThrow(RangeError);
    expect(() => sandbox.configureOutbound({ url: receiver.url, successCodes: [302] })).toThrow(RangeError);
    expect(() => sandbox.configureOutbound({ url: receiver.url, successCodes: [] })).toThrow(RangeError);
    expect(() => sandbox.configureOutbound({ url: 'ftp://x/y' })).toThrow(RangeError);
    expect(() => sandbox.configureOutbound({ url: 'not a url' })).toThrow(RangeError);
    expect(() => sandbox.configureOutbound({ url: receiver.url, retryIntervalMs: 10_001 })).toThrow(
      RangeError,
    );
    expect(() => sandbox.transitionForm('ID_3kPq8Xz1b02', 'pay')).toThrow(RangeError);
  });

  it('plays the admin and the approvers over its control routes', async () => {
    const configured = await control('outbound', { url: receiver.url, successCodes: [200, 204] });
    const rejected = await control(`forms/${A02}/reject`);
    const commented = await control(`forms/${A01}/comment`, {
      attachment: { fileName: '批注.png', size: 1000 },
    });
    const changed = await control(`forms/${A01}/change`, { title: '改过的标题' });
    const unknown = await control('forms/ID_nope/pay');
    const badAction = await control(`forms/${A01}/explode`);
    const badBody = await control('outbound', { retries: 1 });
    const refused = await control('outbound', { url: receiver.url, retries: 9 });
    await sandbox.outboundSettled();
    const state = await control('outbound', undefined, 'GET');

    expect(configured.status).toBe(200);
    expect(configured.text).not.toContain('s3cr3t');
    expect(JSON.parse(rejected.text).value).toMatchObject({ id: A02, state: 'rejected' });
    const logsOfA01 = JSON.parse(commented.text).value.logs as { action: string; attachments: unknown[] }[];
    expect(logsOfA01.at(-1)).toMatchObject({
      action: 'freeflow.comment',
      attachments: [expect.objectContaining({ fileName: '批注.png' })],
    });
    expect(JSON.parse(changed.text).value.form.title).toBe('改过的标题');
    expect([unknown.status, badAction.status, badBody.status, refused.status]).toEqual([412, 400, 400, 400]);
    expect(receiver.received.map((r) => r.body.action)).toEqual(['flow.rejected', 'freeflow.comment']);
    expect(JSON.parse(state.text).value.deliveries).toHaveLength(2);
    expect(state.text).not.toContain('s3cr3t');

    expect((await call(`${sandbox.baseUrl}/_sandbox/outbound`, { method: 'DELETE' })).status).toBe(200);
    await control(`forms/${C02}/approve`);
    await sandbox.outboundSettled();
    expect(receiver.received).toHaveLength(2);
  });

  it('outboundMessageLogs: 400 without dates, 403 without a token, and its status faults', async () => {
    expect((await logs('messageType=message&endDate=1')).status).toBe(400);
    expect((await logs('messageType=message&startDate=x&endDate=1')).status).toBe(400);
    const bare = await call(`${sandbox.baseUrl}/api/openapi/v1/outboundMessageLogs?startDate=0&endDate=1`);
    expect(bare.status).toBe(403);
    sandbox.inject({ kind: 'status', route: 'outboundLogs', status: 502 });
    expect((await logs('startDate=0&endDate=1')).status).toBe(502);
    expect((await logs('startDate=0&endDate=1')).status).toBe(200);
  });
});
