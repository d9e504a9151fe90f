/**
 * POST /hooks/ekuaibao/<secret> (API Gateway HTTP API, payload v2, the one route WITHOUT IAM auth: 合思 cannot
 * sign SigV4): 合思's outbound messages (出站消息). The secret in the path is the credential (core/hooks/push.ts);
 * the body is only a hint that a form may have changed. Answers: 200 `{received, outcome, jobId?}` (queued,
 * duplicate, ignored, unknown_form, nothing_to_archive), 401/403 with no detail, 400/413 for a body that is no
 * message, 503 when it could not be recorded (合思 retries). The path (which holds the secret) is never logged.
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2WithRequestContext } from 'aws-lambda';
import { fromEnvironment } from '../compose/composition.js';
import { hookHandlerDeps } from '../compose/hooks.js';
import { AppError } from '../core/errors.js';
import { secretFromHookPath } from '../core/hooks/hook-secret.js';
import { handlePush, type PushDeps, type PushMetric } from '../core/hooks/push.js';
import { decodeBody } from '../http/api-request.js';
import { type ApiResponse, jsonResponse } from '../http/api-response.js';
import { createLogger } from '../logger.js';
import { type ApiContext, type ApiDeps, apiMiddleware } from '../middleware/api-request.js';
import { asLambdaHandler, type DepsSource } from '../middleware/lazy-deps.js';

export type HookEvent = APIGatewayProxyEventV2WithRequestContext<{ requestId?: string }>;

export interface HookHandlerDeps extends ApiDeps, PushDeps {
  /** One count per request, named by its outcome (CloudWatch EMF in AWS). */
  metric(name: PushMetric): void;
}

export function createHandler(
  deps: DepsSource<HookHandlerDeps>,
  bootLogger = createLogger({ service: 'hooks' }),
) {
  const handler = middy<HookEvent, ApiResponse, Error, ApiContext<HookHandlerDeps>>()
    .use(apiMiddleware({ deps, bootLogger, summary: 'hook request', fields: () => ({ outcome: 'none' }) }))
    .handler(async (event, context) => {
      let body: Buffer | AppError;
      try {
        body = Buffer.from(decodeBody(event, { maxBytes: context.deps.maxBodyBytes }), 'utf8');
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        body = err;
      }
      const secret = secretFromHookPath(event.pathParameters?.proxy);
      const answer = await handlePush(
        { secret, body },
        { ...context.deps, logger: context.log },
        context.signal,
      );
      context.deps.metric(answer.metric);
      context.logFields.outcome = answer.metric;
      return jsonResponse(answer.status, answer.body);
    });
  return asLambdaHandler(handler);
}

export const handler = createHandler(() => hookHandlerDeps(fromEnvironment('hooks')));
