import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { type ApiEvent, type HttpApi, LOCAL_CALLER, startHttpApi } from '../../../infra/local/http-api.js';

describe('local HTTP API (API Gateway HTTP API emulation)', () => {
  let api: HttpApi | undefined;
  afterEach(async () => {
    await api?.close();
    api = undefined;
  });

  it('hands the handler a payload v2 event with path parameters, query, cookies and the IAM caller', async () => {
    const seen: ApiEvent[] = [];
    let remaining = -1;
    api = await startHttpApi({
      routes: [
        {
          method: 'GET',
          path: '/copy-jobs/{jobId}',
          functionName: 'jobs-api',
          handler: async (event, context) => {
            seen.push(event);
            remaining = context.getRemainingTimeInMillis();
            return { statusCode: 200, headers: { 'X-Echo': 'yes' }, body: '{"ok":true}' };
          },
        },
      ],
    });
    const res = await request(`${api.url}/copy-jobs/job%201?a=1&a=2&b=x%20y`, {
      headers: { cookie: 'c1=v1; c2=v2', 'X-Custom': 'One', 'user-agent': 'test-agent/1' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-echo']).toBe('yes');
    expect(res.headers['apigw-requestid']).toBeTypeOf('string');
    expect(await res.body.json()).toEqual({ ok: true });

    const event = seen[0] as ApiEvent;
    expect(event.version).toBe('2.0');
    expect(event.routeKey).toBe('GET /copy-jobs/{jobId}');
    expect(event.rawPath).toBe('/copy-jobs/job%201');
    expect(event.rawQueryString).toBe('a=1&a=2&b=x%20y');
    expect(event.queryStringParameters).toEqual({ a: '1,2', b: 'x y' });
    expect(event.pathParameters).toEqual({ jobId: 'job 1' });
    expect(event.cookies).toEqual(['c1=v1', 'c2=v2']);
    expect(event.headers['x-custom']).toBe('One');
    expect(event.headers.cookie).toBeUndefined();
    expect(event.requestContext.http).toMatchObject({
      method: 'GET',
      path: '/copy-jobs/job%201',
      protocol: 'HTTP/1.1',
      sourceIp: '127.0.0.1',
      userAgent: 'test-agent/1',
    });
    expect(event.requestContext.authorizer.iam).toEqual(LOCAL_CALLER);
    expect(event.requestContext.requestId).toBe(res.headers['apigw-requestid']);
    expect(event.requestContext.time).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    expect(event.requestContext.timeEpoch).toBeGreaterThan(0);
    expect(event.body).toBeUndefined();
    expect(event.isBase64Encoded).toBe(false);
    expect(remaining).toBeGreaterThan(20_000);
    expect(remaining).toBeLessThanOrEqual(29_000);
  });

  it('passes JSON bodies as text and binary bodies base64-encoded, and decodes base64 answers', async () => {
    const seen: ApiEvent[] = [];
    api = await startHttpApi({
      routes: [
        {
          method: 'POST',
          path: '/attachments/download-urls',
          functionName: 'resolve',
          handler: async (event) => {
            seen.push(event);
            return {
              statusCode: 201,
              headers: { 'content-type': 'application/octet-stream' },
              cookies: ['a=1; Path=/', 'b=2'],
              body: Buffer.from([0, 1, 2, 255]).toString('base64'),
              isBase64Encoded: true,
            };
          },
        },
      ],
    });
    const json = await request(`${api.url}/attachments/download-urls`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '[{"id":"简介"}]',
    });
    expect(json.statusCode).toBe(201);
    expect(json.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2']);
    expect([...Buffer.from(await json.body.arrayBuffer())]).toEqual([0, 1, 2, 255]);
    expect(seen[0]?.body).toBe('[{"id":"简介"}]');
    expect(seen[0]?.isBase64Encoded).toBe(false);

    const binary = await request(`${api.url}/attachments/download-urls`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.from([9, 8, 7]),
    });
    await binary.body.dump();
    expect(seen[1]?.isBase64Encoded).toBe(true);
    expect(Buffer.from(seen[1]?.body ?? '', 'base64')).toEqual(Buffer.from([9, 8, 7]));
  });

  it('answers like API Gateway for unknown routes, thrown errors, plain results and oversize bodies', async () => {
    api = await startHttpApi({
      maxBodyBytes: 1024,
      routes: [
        {
          method: 'POST',
          path: '/boom',
          functionName: 'x',
          handler: async () => {
            throw new Error('secret detail');
          },
        },
        { method: 'GET', path: '/plain', functionName: 'x', handler: async () => ({ hello: 'world' }) },
      ],
    });
    const missing = await request(`${api.url}/nope`);
    expect(missing.statusCode).toBe(404);
    expect(await missing.body.json()).toEqual({ message: 'Not Found' });

    const wrongMethod = await request(`${api.url}/plain`, { method: 'DELETE' });
    expect(wrongMethod.statusCode).toBe(404);
    await wrongMethod.body.dump();

    const boom = await request(`${api.url}/boom`, { method: 'POST', body: '{}' });
    expect(boom.statusCode).toBe(500);
    const text = await boom.body.text();
    expect(text).toBe('{"message":"Internal Server Error"}');

    const plain = await request(`${api.url}/plain`);
    expect(plain.statusCode).toBe(200);
    expect(plain.headers['content-type']).toBe('application/json');
    expect(await plain.body.json()).toEqual({ hello: 'world' });

    const big = await request(`${api.url}/boom`, { method: 'POST', body: 'x'.repeat(5000) });
    expect(big.statusCode).toBe(413);
    expect(await big.body.json()).toEqual({ message: 'Request Entity Too Large' });
  });

  it('answers 503 when the function runs past the integration timeout', async () => {
    api = await startHttpApi({
      integrationTimeoutMs: 100,
      routes: [
        {
          method: 'GET',
          path: '/slow',
          functionName: 'x',
          handler: () =>
            new Promise((resolve) => setTimeout(() => resolve({ statusCode: 200, body: '' }), 1_000)),
        },
      ],
    });
    const res = await request(`${api.url}/slow`);
    expect(res.statusCode).toBe(503);
    expect(await res.body.json()).toEqual({ message: 'Service Unavailable' });
  });
});
