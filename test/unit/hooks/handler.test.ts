/**
 * The receiving route over whole API Gateway v2 events: every answer the issue names (queued, duplicate,
 * ignored, unknown form, wrong or missing secret, not JSON, no form id, oversized, a store that fails), what is
 * recorded under hooks/ for each, the metric each counts, and that the secret never reaches a log line.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AppError, ErrorCode } from '../../../functions/core/errors.js';
import { pushEventKey } from '../../../functions/core/hooks/keys.js';
import type { FormArchiver, FormArchiveStart, VersionedStore } from '../../../functions/core/ports.js';
import { createMemoryVersionedStore } from '../../../functions/core/sync/versioned-store.js';
import { createHandler, type HookEvent, type HookHandlerDeps } from '../../../functions/hooks/handler.js';
import { createLogger } from '../../../functions/logger.js';
import { createLambdaContext } from '../../../infra/local/lambda-context.js';

const SECRET = 'fixture-secret-0123456789abcdefghijklmnopqrstuv';
const NOW = Date.UTC(2026, 2, 6, 4, 0, 1);
const FLOW = 'ID_3kPq8Xz1a02';

const fixture = (): HookEvent =>
  JSON.parse(
    readFileSync(
      new URL('../../fixtures/events/api-gateway-v2-hooks-ekuaibao.json', import.meta.url),
      'utf8',
    ),
  );

function eventWith(o: { body?: string | undefined; proxy?: string | undefined; base64?: boolean } = {}) {
  const event = fixture();
  if ('body' in o) {
    if (o.body === undefined) delete event.body;
    else event.body = o.base64 ? Buffer.from(o.body).toString('base64') : o.body;
    event.isBase64Encoded = o.base64 === true;
  }
  if ('proxy' in o) {
    if (o.proxy === undefined) delete event.pathParameters;
    else event.pathParameters = { proxy: o.proxy };
    event.rawPath = `/hooks/${o.proxy ?? ''}`;
  }
  return event;
}

function setup(
  archive: (input: FormArchiveStart) => ReturnType<FormArchiver['startFormArchive']> = async (i) => ({
    outcome: 'queued',
    jobId: `push-${i.flowId}-0000`,
  }),
  storeOverride?: VersionedStore,
) {
  const store = createMemoryVersionedStore();
  const started: FormArchiveStart[] = [];
  const metrics: string[] = [];
  const lines: string[] = [];
  const deps: HookHandlerDeps = {
    secret: async () => SECRET,
    store: storeOverride ?? store,
    archiver: {
      async startFormArchive(input) {
        started.push(input);
        return archive(input);
      },
    },
    now: () => NOW,
    logger: createLogger({ level: 'debug', write: (line: string) => lines.push(line) }),
    actions: ['flow.paid'],
    dedupeMinutes: 60,
    maxBodyBytes: 64 * 1024,
    metric: (name) => metrics.push(name),
  };
  const handler = createHandler(deps);
  const call = async (event: HookEvent) => {
    const answer = (await handler(
      event,
      createLambdaContext({ functionName: 'ekb-archive-hooks', timeoutMs: 29_000 }),
    )) as {
      statusCode: number;
      body: string;
    };
    return { status: answer.statusCode, json: JSON.parse(answer.body) as Record<string, unknown> };
  };
  return { call, store, started, metrics, lines };
}

describe('hooks handler (POST /hooks/ekuaibao/<secret>)', () => {
  it('queues the form of a flow.paid message and records the event under hooks/events/', async () => {
    const t = setup();

    const answer = await t.call(fixture());

    expect(answer).toEqual({
      status: 200,
      json: { received: true, outcome: 'queued', jobId: `push-${FLOW}-0000` },
    });
    expect(t.started).toHaveLength(1);
    expect(t.started[0]).toMatchObject({ flowId: FLOW, via: 'push' });
    const key = pushEventKey(FLOW, 'flow.paid', NOW - (NOW % 3_600_000));
    expect(key).toBe(`hooks/events/${FLOW}/20260306T040000Z-flow.paid.json`);
    expect(t.store.peek(key)).toMatchObject({
      v: 1,
      via: 'push',
      flowId: FLOW,
      action: 'flow.paid',
      state: 'paid',
      outcome: 'queued',
      jobId: `push-${FLOW}-0000`,
    });
    expect(t.metrics).toEqual(['HookQueued']);
  });

  it('answers a retry of the same message as a duplicate and starts nothing more', async () => {
    const t = setup();
    await t.call(fixture());

    const again = await t.call(fixture());
    const third = await t.call(fixture());

    expect(again).toEqual({
      status: 200,
      json: { received: true, outcome: 'duplicate', jobId: `push-${FLOW}-0000` },
    });
    expect(third.json.outcome).toBe('duplicate');
    expect(t.started).toHaveLength(1);
    expect(t.metrics).toEqual(['HookQueued', 'HookDuplicate', 'HookDuplicate']);
  });

  it('starts one archive for 50 concurrent copies of one message', async () => {
    const t = setup(async (i) => {
      await new Promise((r) => setTimeout(r, 5));
      return { outcome: 'queued', jobId: `push-${i.flowId}-0000` };
    });

    const answers = await Promise.all(Array.from({ length: 50 }, () => t.call(fixture())));

    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(t.started).toHaveLength(1);
    expect(answers.filter((a) => a.json.outcome === 'queued')).toHaveLength(1);
    expect(answers.filter((a) => a.json.outcome === 'duplicate')).toHaveLength(49);
  });

  it('records and ignores a message whose action does not start an archive', async () => {
    const t = setup();
    const body = JSON.stringify({ flowId: FLOW, action: 'flow.rejected', state: 'rejected' });

    const answer = await t.call(eventWith({ body }));

    expect(answer).toEqual({ status: 200, json: { received: true, outcome: 'ignored' } });
    expect(t.started).toHaveLength(0);
    expect(t.store.peek(pushEventKey(FLOW, 'flow.rejected', NOW - (NOW % 3_600_000)))).toMatchObject({
      outcome: 'ignored',
      action: 'flow.rejected',
    });
    expect(t.metrics).toEqual(['HookIgnored']);
  });

  it('starts an archive for a message without an action (an E-Bot node)', async () => {
    const t = setup();

    const answer = await t.call(eventWith({ body: JSON.stringify({ flowId: FLOW, nodeId: 'N1' }) }));

    expect(answer.json.outcome).toBe('queued');
    expect(t.started).toHaveLength(1);
  });

  it('records an unknown form id as a bad event, answers 200 (no retry storm) and asks 合思 once', async () => {
    const t = setup(async () => ({ outcome: 'unknown_form' }));
    const body = JSON.stringify({ flowId: 'ID_nosuchform', action: 'flow.paid' });

    const first = await t.call(eventWith({ body }));
    const again = await t.call(eventWith({ body }));

    expect(first).toEqual({ status: 200, json: { received: true, outcome: 'unknown_form' } });
    expect(again.json.outcome).toBe('duplicate');
    expect(t.started).toHaveLength(1);
    expect(t.store.peek(pushEventKey('ID_nosuchform', 'flow.paid', NOW - (NOW % 3_600_000)))).toMatchObject({
      outcome: 'unknown_form',
    });
    expect(t.metrics).toEqual(['HookUnknownForm', 'HookDuplicate']);
  });

  it.each([
    ['a wrong secret', `ekuaibao/${SECRET.slice(0, -1)}x`, 403, 'Forbidden'],
    ['a secret one character short', `ekuaibao/${SECRET.slice(0, -1)}`, 403, 'Forbidden'],
    ['the secret with a suffix', `ekuaibao/${SECRET}a`, 403, 'Forbidden'],
    ['no secret', 'ekuaibao', 401, 'Unauthorized'],
    ['another hook name', `other/${SECRET}`, 401, 'Unauthorized'],
    ['no path at all', undefined, 401, 'Unauthorized'],
  ])(
    'refuses %s with no detail, records nothing and counts HookRejected',
    async (_name, proxy, status, message) => {
      const t = setup();

      const answer = await t.call(eventWith({ proxy }));

      expect(answer).toEqual({ status, json: { message } });
      expect(t.started).toHaveLength(0);
      expect(t.store.peek(pushEventKey(FLOW, 'flow.paid', NOW - (NOW % 3_600_000)))).toBeUndefined();
      expect(t.metrics).toEqual(['HookRejected']);
      expect(t.lines.join('\n')).not.toContain(SECRET.slice(0, 20));
    },
  );

  it('checks the secret before the body: a bad secret with an oversized body is 403', async () => {
    const t = setup();

    const answer = await t.call({
      ...eventWith({ body: 'x'.repeat(100_000) }),
      pathParameters: { proxy: 'ekuaibao/nope' },
    });

    expect(answer.status).toBe(403);
    expect(t.metrics).toEqual(['HookRejected']);
  });

  it.each([
    ['a body that is not JSON', '<xml/>', 400, /not JSON/],
    ['an empty body', undefined, 400, /empty/],
    ['a JSON array', '[{"flowId":"ID_1"}]', 400, /JSON object/],
    ['no flowId', '{"action":"flow.paid","state":"paid"}', 400, /flowId.*missing/],
    ['a flowId that is not a form id', '{"flowId":"../../jobs/x"}', 400, /form id/],
    ['a numeric flowId', '{"flowId":12345}', 400, /flowId.*missing/],
    ['an action that is not a word', '{"flowId":"ID_1","action":{"x":1}}', 400, /"action"/],
  ])('answers %s with %i naming the problem, recording nothing', async (_name, body, status, message) => {
    const t = setup();

    const answer = await t.call(eventWith({ body }));

    expect(answer.status).toBe(status);
    expect((answer.json.error as { message: string }).message).toMatch(message);
    expect(t.started).toHaveLength(0);
    expect(t.metrics).toEqual(['HookBadRequest']);
  });

  it('answers an oversized body with 413, plain or base64', async () => {
    const t = setup();
    const big = JSON.stringify({ flowId: FLOW, action: 'flow.paid', pad: 'x'.repeat(70_000) });

    const plain = await t.call(eventWith({ body: big }));
    const encoded = await t.call(eventWith({ body: big, base64: true }));

    expect(plain.status).toBe(413);
    expect(encoded.status).toBe(413);
    expect(t.started).toHaveLength(0);
  });

  it('reads a base64-encoded body as API Gateway may deliver it', async () => {
    const t = setup();

    const answer = await t.call(
      eventWith({ body: JSON.stringify({ flowId: FLOW, action: 'flow.paid' }), base64: true }),
    );

    expect(answer.json.outcome).toBe('queued');
  });

  it('answers 503 (合思 retries) when the archive cannot be started, and the retry takes the event over', async () => {
    let fail = true;
    const t = setup(async (i) => {
      if (fail) throw new AppError(ErrorCode.QueueSendFailed, 'queue down', { retryable: true });
      return { outcome: 'queued', jobId: `push-${i.flowId}-0000` };
    });

    const first = await t.call(fixture());
    fail = false;
    const retry = await t.call(fixture());

    expect(first.status).toBe(503);
    expect(JSON.stringify(first.json)).not.toContain('queue down');
    expect(retry).toEqual({
      status: 200,
      json: { received: true, outcome: 'queued', jobId: `push-${FLOW}-0000` },
    });
    expect(t.started).toHaveLength(2);
    expect(t.metrics).toEqual(['HookFailed', 'HookQueued']);
  });

  it('answers 503, never 500, when the event store fails', async () => {
    const broken: VersionedStore = {
      get: async () => {
        throw new AppError(ErrorCode.StateReadFailed, 'store down', { retryable: true });
      },
      putIfMatch: async () => {
        throw new AppError(ErrorCode.StateWriteFailed, 'store down', { retryable: true });
      },
    };
    const t = setup(undefined, broken);

    const answer = await t.call(fixture());

    expect(answer.status).toBe(503);
    expect(t.started).toHaveLength(0);
  });

  it('never writes the secret or the path into a log line, whatever the outcome', async () => {
    const t = setup();

    await t.call(fixture());
    await t.call(eventWith({ body: 'nope' }));

    expect(t.lines.length).toBeGreaterThan(0);
    expect(t.lines.join('\n')).not.toContain(SECRET);
  });
});
