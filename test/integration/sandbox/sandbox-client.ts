/** Small raw-HTTP helpers for the sandbox tests: real sockets through undici, no project client involved. */
import { createHash } from 'node:crypto';
import { request } from 'undici';
import type { EkuaibaoSandbox } from '../../../infra/local/sandbox/types.js';

export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export async function call(
  url: string,
  init: { method?: 'GET' | 'POST' | 'HEAD' | 'DELETE'; body?: string; headers?: Record<string, string> } = {},
): Promise<RawAnswer> {
  const res = await request(url, {
    method: init.method ?? 'GET',
    body: init.body,
    headers: init.body === undefined ? init.headers : { 'content-type': 'application/json', ...init.headers },
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

export async function getToken(sandbox: EkuaibaoSandbox): Promise<string> {
  const answer = await call(`${sandbox.baseUrl}/api/openapi/v1/auth/getAccessToken`, {
    method: 'POST',
    body: JSON.stringify({ appKey: sandbox.appKey, appSecurity: sandbox.appSecurity }),
  });
  if (answer.status !== 200) throw new Error(`token call answered ${answer.status}`);
  return (JSON.parse(answer.text) as { value: { accessToken: string } }).value.accessToken;
}

export interface UrlAnswer {
  id: string;
  key: string;
  url: string;
  thumbUrl: string;
  headers?: Record<string, string>;
}

export async function downloadUrls(
  sandbox: EkuaibaoSandbox,
  token: string,
  items: unknown,
): Promise<{ status: number; answers: UrlAnswer[]; text: string }> {
  const answer = await call(
    `${sandbox.baseUrl}/api/openapi/v2/attachment/downloadurls?accessToken=${encodeURIComponent(token)}`,
    { method: 'POST', body: typeof items === 'string' ? items : JSON.stringify(items) },
  );
  const answers = answer.status === 200 ? (JSON.parse(answer.text) as UrlAnswer[]) : [];
  return { status: answer.status, answers, text: answer.text };
}

/** GETs a URL and hashes the body as it streams (never buffers it). */
export async function fetchHashed(
  url: string,
  headers: Record<string, string> = {},
): Promise<{
  status: number;
  size: number;
  sha256: string;
  headers: Record<string, string | string[] | undefined>;
}> {
  const res = await request(url, { headers });
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of res.body) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { status: res.statusCode, size, sha256: hash.digest('hex'), headers: res.headers };
}

export function withToken(sandbox: EkuaibaoSandbox, path: string, token: string): string {
  return `${sandbox.baseUrl}${path}${path.includes('?') ? '&' : '?'}accessToken=${encodeURIComponent(token)}`;
}
