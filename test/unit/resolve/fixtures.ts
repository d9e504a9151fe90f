/**
 * Shared by the resolve unit and integration tests: whole API Gateway v2 events from the JSON fixtures, a Lambda
 * context with a real getRemainingTimeInMillis, a capturing redacting logger and a fake resolver.
 */
import { readFileSync } from 'node:fs';
import type { Context } from 'aws-lambda';
import { AbortedError } from '../../../functions/core/errors.js';
import type { AttachmentRef } from '../../../functions/core/model/refs.js';
import type { Resolution, ResolvedAttachment } from '../../../functions/core/model/resolution.js';
import type { DownloadUrlResolver, Logger, ResolveOptions } from '../../../functions/core/ports.js';
import { createLogger } from '../../../functions/logger.js';
import type { ResolveEvent } from '../../../functions/resolve/handler.js';

const FIXTURES = new URL('../../fixtures/events/', import.meta.url);

export type FixtureName = 'api-gateway-v2-download-urls' | 'api-gateway-v2-download-urls-base64';

/** A fresh deep copy of a fixture event, so tests may change it. */
export function loadEvent(name: FixtureName = 'api-gateway-v2-download-urls'): ResolveEvent {
  return JSON.parse(readFileSync(new URL(`${name}.json`, FIXTURES), 'utf8')) as ResolveEvent;
}

/** The fixture event with another body (plain text, content-length adjusted) and optional query/headers. */
export function eventWithBody(
  body: string | undefined,
  extra: { query?: Record<string, string>; headers?: Record<string, string | undefined> } = {},
): ResolveEvent {
  const event = loadEvent();
  if (body === undefined) delete event.body;
  else event.body = body;
  event.isBase64Encoded = false;
  event.headers['content-length'] = String(Buffer.byteLength(body ?? '', 'utf8'));
  for (const [k, v] of Object.entries(extra.headers ?? {})) {
    if (v === undefined) delete event.headers[k];
    else event.headers[k] = v;
  }
  if (extra.query) {
    event.queryStringParameters = extra.query;
    event.rawQueryString = new URLSearchParams(extra.query).toString();
  }
  return event;
}

/** The vendor curl example's two refs, as in /work/shared/seed-attachment-download.md. */
export const VENDOR_REFS: readonly AttachmentRef[] = [
  { id: '61sbwX3DEAgk00', key: 'openapi0306c2d1-7a5b-4e96-8172-60c5ee0f971e-kotlin简介.docx' },
  {
    id: '136634573449',
    key: 'DP:{"fileId":"136634437985","fileName":"128163bbba83.jpg","fileSize":2985928,"fileType":"jpg","spaceId":"7215288789"}',
  },
];

/** A Lambda context whose deadline is `remainingMs` from now (real clock). */
export function lambdaContext(
  remainingMs = 29_000,
  awsRequestId = 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
): Context {
  const deadline = Date.now() + remainingMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'ekb-archive-resolve',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:ap-east-1:123456789012:function:ekb-archive-resolve',
    memoryLimitInMB: '512',
    awsRequestId,
    logGroupName: '/aws/lambda/ekb-archive-resolve',
    logStreamName: '2025/06/23/[$LATEST]0123456789abcdef0123456789abcdef',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** The real redacting logger, writing into an array (so tests see exactly what would reach CloudWatch). */
export function captureLogger(): {
  logger: Logger;
  lines: string[];
  entries: () => Record<string, unknown>[];
} {
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', service: 'resolve', write: (line) => lines.push(line) });
  return { logger, lines, entries: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

export interface FakeResolverCall {
  refs: AttachmentRef[];
  expiration: number | undefined;
  signal: AbortSignal | undefined;
}

/**
 * A plain fake of the port: refs whose id is in `known` resolve (in order, duplicates each time), the rest are
 * not found. `fail` makes every call reject; `hang` makes calls wait for their signal.
 */
export function fakeResolver(
  known: Iterable<string> = [],
  behaviour: { fail?: unknown; hang?: boolean; now?: number } = {},
): DownloadUrlResolver & { calls: FakeResolverCall[] } {
  const ids = new Set(known);
  const calls: FakeResolverCall[] = [];
  const now = behaviour.now ?? Date.parse('2025-06-23T05:00:17Z');
  return {
    calls,
    async resolveDownloadUrls(
      refs: readonly AttachmentRef[],
      options: ResolveOptions = {},
    ): Promise<Resolution[]> {
      calls.push({
        refs: refs.map((r) => ({ ...r })),
        expiration: options.expiration,
        signal: options.signal,
      });
      if (behaviour.fail !== undefined) throw behaviour.fail;
      if (behaviour.hang) {
        await new Promise<never>((_, reject) => {
          // The real client turns its caller's abort into AbortedError; so does this fake.
          options.signal?.addEventListener(
            'abort',
            () => reject(new AbortedError('aborted', options.signal?.reason)),
            { once: true },
          );
        });
      }
      return refs.map((ref): Resolution => {
        if (!ids.has(ref.id)) return { status: 'not_found', id: ref.id, key: ref.key };
        const resolved: ResolvedAttachment = {
          status: 'resolved',
          id: ref.id,
          key: ref.key,
          url: `https://ekuaibao.oss-cn-hangzhou.aliyuncs.com/${encodeURIComponent(ref.id)}?Expires=1&Signature=SIGSECRET${ref.id}`,
          thumbUrl: `https://ekuaibao.oss-cn-hangzhou.aliyuncs.com/${encodeURIComponent(ref.id)}?Expires=1&Signature=THUMBSECRET${ref.id}`,
          expiresAt: now + (options.expiration ?? 1800) * 1000,
        };
        if (ref.key.startsWith('DP:')) {
          resolved.headers = {
            Authorization: 'OSS LTAIjmWpzHta71rc:SECRETSIG=',
            'x-oss-date': 'Tue, 04 Jun 2024 02:36:44 GMT',
          };
          resolved.fileName = '128163bbba83.jpg';
          resolved.fileType = 'jpg';
          resolved.fileSize = 2985928;
        }
        return resolved;
      });
    },
  };
}
