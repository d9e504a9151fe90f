/**
 * A Lambda `Context` for handlers run on this machine: the same fields the runtime gives, with a real deadline so
 * `getRemainingTimeInMillis()` counts down and the handlers' deadline logic behaves as it does in AWS.
 */
import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import type { WithStopSignal } from '../../functions/middleware/deadline.js';

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT_ID = '000000000000';

export interface LocalContextOptions {
  functionName: string;
  /** The function's configured timeout (API: 29 s, fan-out and copy: up to 900 s). */
  timeoutMs: number;
  memoryLimitInMB?: number;
  region?: string;
  requestId?: string;
  now?: () => number;
  /**
   * Fires when the host stops the invocation early (the local stack shutting down); set on the context as
   * `stopSignal`, which the handlers' deadline middleware honours like the deadline itself.
   */
  stopSignal?: AbortSignal;
}

export function createLambdaContext(options: LocalContextOptions): Context & WithStopSignal {
  const now = options.now ?? Date.now;
  const deadline = now() + options.timeoutMs;
  const region = options.region ?? LOCAL_REGION;
  const name = options.functionName;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:${LOCAL_ACCOUNT_ID}:function:${name}`,
    memoryLimitInMB: String(options.memoryLimitInMB ?? 1024),
    awsRequestId: options.requestId ?? randomUUID(),
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: `local/${name}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
    ...(options.stopSignal ? { stopSignal: options.stopSignal } : {}),
  };
}
