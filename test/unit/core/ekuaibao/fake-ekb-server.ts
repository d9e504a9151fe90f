/**
 * A tiny hand-written 合思 stand-in on 127.0.0.1:0 for unit tests of the client: each test supplies the handler,
 * so every status, header and body is explicit in the test that relies on it.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
  rawBody: string;
}

export type Handler = (
  req: RecordedRequest,
  res: ServerResponse,
  raw: IncomingMessage,
) => void | Promise<void>;

export interface FakeEkb {
  baseUrl: string;
  requests: RecordedRequest[];
  count(path: string): number;
  close(): Promise<void>;
}

export const TOKEN_PATH = '/api/openapi/v1/auth/getAccessToken';
export const DOWNLOAD_URLS_PATH = '/api/openapi/v2/attachment/downloadurls';
export const APPLY_LIST_PATH = '/api/openapi/v1.1/docs/getApplyList';
export const FLOW_DETAILS_PATH = '/api/openapi/v1.1/flowDetails';

export async function startFakeEkb(handler: Handler): Promise<FakeEkb> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const rawBody = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = rawBody === '' ? undefined : JSON.parse(rawBody);
      } catch {
        body = undefined;
      }
      const rec: RecordedRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        body,
        rawBody,
      };
      requests.push(rec);
      Promise.resolve(handler(rec, res, req)).catch((err: unknown) => {
        if (!res.headersSent) {
          res.statusCode = 599;
          res.end(String(err));
        }
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    count: (path) => requests.filter((r) => r.path === path).length,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(text);
}

/** Answers a downloadurls body with a URL for every item (ordinary: OSS-style query; DP: headers). */
export function answerAll(body: unknown, nowSeconds = 2_000_000_000): unknown[] {
  return (body as { id: string; key: string; expiration: number }[]).map((item) => urlFor(item, nowSeconds));
}

export function urlFor(
  item: { id: string; key: string; expiration: number },
  nowSeconds = 2_000_000_000,
): unknown {
  const path = encodeURIComponent(item.id);
  if (item.key.startsWith('DP:')) {
    return {
      id: item.id,
      key: item.key,
      url: `http://files.example.test/yundisk0/${path}.file`,
      thumbUrl: `http://files.example.test/yundisk0/${path}.file`,
      headers: { Authorization: 'OSS LTAIabc:c2lnbmF0dXJl', 'x-oss-date': 'Tue, 04 Jun 2024 02:36:44 GMT' },
    };
  }
  return {
    id: item.id,
    key: item.key,
    url: `http://oss.example.test/${path}?Expires=${nowSeconds + item.expiration}&OSSAccessKeyId=STS.x&Signature=sig%3D`,
    thumbUrl: `http://oss.example.test/${path}?Expires=${nowSeconds + item.expiration}&Signature=thumb&x-oss-process=image`,
  };
}

export const sleepMs = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
