/**
 * The request context every sandbox route receives, and the ways it answers: JSON in the vendor's error shape,
 * raw bytes, and OSS's XML errors. Every answer honours an armed `reset` fault (cut after N body bytes).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type ConcreteRoute, cutConnection } from './faults.js';
import { ossErrorXml } from './signing.js';

/** Request bodies beyond this are refused (100 downloadurls items are ~40 KiB). */
export const MAX_REQUEST_BODY = 1024 * 1024;

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** The fault scope of the route serving this request (undefined: a route faults never touch). */
  route: ConcreteRoute | undefined;
  /** The POST body (undefined for other methods). */
  body: Buffer | undefined;
  /** From an armed `reset` fault with afterBytes > 0: cut the answer after this many body bytes. */
  resetAfter?: number;
}

export function sendBytes(
  ctx: RequestContext,
  status: number,
  body: Buffer,
  contentType: string,
  headers: Record<string, string | number> = {},
): void {
  const { res } = ctx;
  if (res.destroyed) return;
  res.writeHead(status, { ...headers, 'content-type': contentType, 'content-length': body.length });
  if (ctx.req.method === 'HEAD') {
    res.end();
    return;
  }
  if (ctx.resetAfter !== undefined && ctx.resetAfter < body.length) {
    res.write(body.subarray(0, ctx.resetAfter));
    void cutConnection(res, 'reset');
    return;
  }
  res.end(body);
}

export function sendJson(
  ctx: RequestContext,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  sendBytes(
    ctx,
    status,
    Buffer.from(JSON.stringify(body), 'utf8'),
    'application/json;charset=UTF-8',
    headers,
  );
}

/** The v1/v2 error shape: `{errorCode, errorMessage, errorDetails: null}`. */
export function sendApiError(ctx: RequestContext, status: number, message: string): void {
  sendJson(ctx, status, { errorCode: status, errorMessage: message, errorDetails: null });
}

export function sendMethodNotAllowed(ctx: RequestContext): void {
  sendApiError(ctx, 405, `不支持 ${ctx.req.method}`);
}

/** An OSS error answer (XML, as OSS sends it). */
export function sendOssError(
  ctx: RequestContext,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  sendBytes(ctx, status, Buffer.from(ossErrorXml(code, message), 'utf8'), 'application/xml', headers);
}

/** For answers outside any route (unknown path, a crash): no fault applies. */
export function sendJsonPlain(res: ServerResponse, status: number, body: unknown): void {
  const text = Buffer.from(JSON.stringify(body), 'utf8');
  res.writeHead(status, { 'content-type': 'application/json;charset=UTF-8', 'content-length': text.length });
  res.end(text);
}

export function parseJson(body: Buffer | undefined): { ok: true; value: unknown } | { ok: false } {
  if (!body || body.length === 0) return { ok: false };
  try {
    return { ok: true, value: JSON.parse(body.toString('utf8')) };
  } catch {
    return { ok: false };
  }
}

export async function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
  const chunks: Buffer[] = [];
  let total = 0;
  let tooLarge = false;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > MAX_REQUEST_BODY) tooLarge = true;
    else chunks.push(chunk);
  }
  return tooLarge ? 'too-large' : Buffer.concat(chunks);
}

export async function drain(req: IncomingMessage): Promise<void> {
  for await (const _ of req) {
    // discard
  }
}

export function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
