/**
 * The API Gateway HTTP API on one machine: a node:http server that turns each request into the payload v2 event
 * API Gateway would send (IAM authorizer with a simulated local caller), hands it to the same Lambda handler the
 * stack deploys, and writes the handler's answer back the way API Gateway does.
 *
 * API Gateway's own answers are copied too: 404 `{"message":"Not Found"}` for an unknown route, 413 past the
 * 10 MB payload limit, 500 `{"message":"Internal Server Error"}` when the function throws, and 503 when the
 * integration runs past its 29 s timeout.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type {
  APIGatewayEventRequestContextIAMAuthorizer,
  APIGatewayProxyEventV2WithIAMAuthorizer,
  Context,
} from 'aws-lambda';
import { redactText } from '../../functions/core/util/redact.js';
import { createLambdaContext, LOCAL_ACCOUNT_ID } from './lambda-context.js';

export type ApiEvent = APIGatewayProxyEventV2WithIAMAuthorizer;
export type ApiHandler = (event: ApiEvent, context: Context) => unknown;

export interface ApiRoute {
  /** `POST`, `GET`, … */
  method: string;
  /** `/copy-jobs/{jobId}`; `{name+}` matches the rest of the path. */
  path: string;
  /** The function's name (Lambda context, logs). */
  functionName: string;
  handler: ApiHandler;
  /**
   * No IAM authorizer (API Gateway's `authorizationType: NONE`): the event carries no authorizer and the request
   * line names the route, not the path (the path of the outbound-message route holds its secret).
   */
  anonymous?: boolean;
}

export interface HttpApiOptions {
  routes: readonly ApiRoute[];
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Integration timeout; the stack gives the API functions 29 s (HTTP APIs allow at most 30 s). */
  integrationTimeoutMs?: number;
  /** Largest request body accepted; API Gateway's payload limit is 10 MB. */
  maxBodyBytes?: number;
  /** The simulated IAM caller put in requestContext.authorizer.iam. */
  caller?: APIGatewayEventRequestContextIAMAuthorizer['iam'];
  /** One line per request (method, path, status, ms); omitted: silent. */
  onRequest?: (line: { method: string; path: string; status: number; ms: number }) => void;
}

export interface HttpApi {
  /** e.g. http://127.0.0.1:4567 */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export const API_GATEWAY_TIMEOUT_MS = 29_000;
export const API_GATEWAY_MAX_BODY_BYTES = 10 * 1024 * 1024;
const API_ID = 'local';

/** The local caller: what `aws sts get-caller-identity` would name, marked clearly as a simulation. */
export const LOCAL_CALLER: APIGatewayEventRequestContextIAMAuthorizer['iam'] = {
  accessKey: 'ASIALOCALSTACKCALLER',
  accountId: LOCAL_ACCOUNT_ID,
  callerId: 'AIDALOCALSTACKCALLER',
  cognitoIdentity: null,
  principalOrgId: '',
  userArn: `arn:aws:iam::${LOCAL_ACCOUNT_ID}:user/local-caller`,
  userId: 'AIDALOCALSTACKCALLER',
};

interface CompiledRoute extends ApiRoute {
  routeKey: string;
  match(path: string): Record<string, string> | undefined;
}

function compileRoute(route: ApiRoute): CompiledRoute {
  const names: string[] = [];
  const pattern = route.path
    .split('/')
    .map((segment) => {
      const greedy = /^\{([A-Za-z0-9_]+)\+\}$/.exec(segment);
      if (greedy) {
        names.push(greedy[1] as string);
        return '(.+)';
      }
      const param = /^\{([A-Za-z0-9_]+)\}$/.exec(segment);
      if (param) {
        names.push(param[1] as string);
        return '([^/]+)';
      }
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  const regex = new RegExp(`^${pattern}$`);
  return {
    ...route,
    method: route.method.toUpperCase(),
    routeKey: `${route.method.toUpperCase()} ${route.path}`,
    match(path) {
      const m = regex.exec(path);
      if (!m) return undefined;
      const params: Record<string, string> = {};
      names.forEach((name, i) => {
        params[name] = safeDecode(m[i + 1] as string);
      });
      return params;
    },
  };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** API Gateway's `time`: 23/Jun/2025:05:00:17 +0000. */
function apiGatewayTime(epochMs: number): string {
  const d = new Date(epochMs);
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${months[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(
    d.getUTCMinutes(),
  )}:${p(d.getUTCSeconds())} +0000`;
}

/** Bodies API Gateway passes as text; everything else arrives base64-encoded with isBase64Encoded. */
export function isTextContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return true;
  const media = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  return (
    media === '' ||
    media.startsWith('text/') ||
    /^application\/([a-z0-9.+-]+\+)?(json|xml)$/.test(media) ||
    media === 'application/javascript' ||
    media === 'application/x-www-form-urlencoded' ||
    media === 'application/x-ndjson' ||
    media === 'application/jsonl'
  );
}

export interface RequestParts {
  method: string;
  /** The raw request target, e.g. /copy-jobs/abc?x=1 */
  url: string;
  httpVersion: string;
  /** Node's rawHeaders: name, value, name, value, … */
  rawHeaders: readonly string[];
  body: Buffer;
  sourceIp: string;
  localPort: number;
}

/** Builds the payload v2 event API Gateway sends for this request (exported for tests). */
export function toApiGatewayEvent(
  parts: RequestParts,
  route: { routeKey: string; pathParameters: Record<string, string> | undefined },
  caller: APIGatewayEventRequestContextIAMAuthorizer['iam'] | null = LOCAL_CALLER,
  now: number = Date.now(),
): ApiEvent {
  const queryAt = parts.url.indexOf('?');
  const rawPath = queryAt === -1 ? parts.url : parts.url.slice(0, queryAt);
  const rawQueryString = queryAt === -1 ? '' : parts.url.slice(queryAt + 1);

  // v2 joins repeated headers with commas and moves cookies to their own field.
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (let i = 0; i + 1 < parts.rawHeaders.length; i += 2) {
    const name = (parts.rawHeaders[i] as string).toLowerCase();
    const value = parts.rawHeaders[i + 1] as string;
    if (name === 'cookie') {
      for (const c of value.split(';')) if (c.trim() !== '') cookies.push(c.trim());
      continue;
    }
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  const requestId = randomBytes(10).toString('base64');
  headers['x-forwarded-for'] =
    headers['x-forwarded-for'] === undefined
      ? parts.sourceIp
      : `${headers['x-forwarded-for']}, ${parts.sourceIp}`;
  headers['x-forwarded-port'] = String(parts.localPort);
  headers['x-forwarded-proto'] = 'http';
  headers['x-amzn-trace-id'] =
    `Root=1-${Math.floor(now / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;

  let queryStringParameters: Record<string, string> | undefined;
  if (rawQueryString !== '') {
    queryStringParameters = {};
    for (const [k, v] of new URLSearchParams(rawQueryString)) {
      queryStringParameters[k] =
        queryStringParameters[k] === undefined ? v : `${queryStringParameters[k]},${v}`;
    }
  }

  const host = headers.host ?? `127.0.0.1:${parts.localPort}`;
  const event: ApiEvent = {
    version: '2.0',
    routeKey: route.routeKey,
    rawPath,
    rawQueryString,
    headers,
    requestContext: {
      accountId: LOCAL_ACCOUNT_ID,
      apiId: API_ID,
      authorizer: { iam: { ...(caller ?? LOCAL_CALLER) } },
      domainName: host,
      domainPrefix: host.split('.')[0]?.split(':')[0] ?? API_ID,
      http: {
        method: parts.method,
        path: rawPath,
        protocol: `HTTP/${parts.httpVersion}`,
        sourceIp: parts.sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId,
      routeKey: route.routeKey,
      stage: '$default',
      time: apiGatewayTime(now),
      timeEpoch: now,
    },
    isBase64Encoded: false,
  };
  if (cookies.length > 0) event.cookies = cookies;
  if (queryStringParameters) event.queryStringParameters = queryStringParameters;
  if (route.pathParameters) event.pathParameters = route.pathParameters;
  if (parts.body.length > 0) {
    if (isTextContentType(headers['content-type'])) {
      event.body = parts.body.toString('utf8');
    } else {
      event.body = parts.body.toString('base64');
      event.isBase64Encoded = true;
    }
  }
  // An anonymous route's event has no authorizer at all, as API Gateway sends it.
  if (caller === null) delete (event.requestContext as { authorizer?: unknown }).authorizer;
  return event;
}

export interface HttpAnswer {
  statusCode: number;
  headers: Record<string, string>;
  cookies: string[];
  body: Buffer;
}

/**
 * What API Gateway makes of a function's return value (payload v2): a structured result is used as is; anything
 * else (a string, an object without statusCode) becomes a 200 JSON answer.
 */
export function fromHandlerResult(result: unknown): HttpAnswer {
  const structured =
    result !== null && typeof result === 'object' && 'statusCode' in (result as Record<string, unknown>);
  if (!structured) {
    const text = typeof result === 'string' ? result : (JSON.stringify(result) ?? '');
    return {
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
      cookies: [],
      body: Buffer.from(text, 'utf8'),
    };
  }
  const r = result as {
    statusCode: unknown;
    headers?: Record<string, unknown>;
    cookies?: unknown;
    body?: unknown;
    isBase64Encoded?: unknown;
  };
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers ?? {})) {
    if (v !== undefined && v !== null) headers[k.toLowerCase()] = String(v);
  }
  const bodyText = typeof r.body === 'string' ? r.body : '';
  return {
    statusCode: Number(r.statusCode),
    headers,
    cookies: Array.isArray(r.cookies) ? r.cookies.map(String) : [],
    body: Buffer.from(bodyText, r.isBase64Encoded === true ? 'base64' : 'utf8'),
  };
}

function gatewayAnswer(statusCode: number, message: string): HttpAnswer {
  return {
    statusCode,
    headers: { 'content-type': 'application/json' },
    cookies: [],
    body: Buffer.from(JSON.stringify({ message }), 'utf8'),
  };
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        reject(new BodyTooLarge());
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function invoke(route: CompiledRoute, event: ApiEvent, timeoutMs: number): Promise<HttpAnswer> {
  const context = createLambdaContext({
    functionName: route.functionName,
    timeoutMs,
    requestId: randomUUID(),
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
    timer.unref();
  });
  try {
    const outcome = await Promise.race([Promise.resolve(route.handler(event, context)), timeout]);
    if (outcome === 'timeout') return gatewayAnswer(503, 'Service Unavailable');
    return fromHandlerResult(outcome);
  } catch (err) {
    // API Gateway shows nothing of a function error; the local console does (it is the function's own log).
    process.stderr.write(
      `[${route.functionName}] unhandled error: ${redactText(err instanceof Error ? err.message : String(err))}\n`,
    );
    return gatewayAnswer(500, 'Internal Server Error');
  } finally {
    clearTimeout(timer);
  }
}

function writeAnswer(res: ServerResponse, answer: HttpAnswer, requestId: string): void {
  const headers: Record<string, string | string[]> = {
    ...answer.headers,
    'apigw-requestid': requestId,
    'content-length': String(answer.body.length),
  };
  if (answer.cookies.length > 0) headers['set-cookie'] = answer.cookies;
  res.writeHead(answer.statusCode, headers);
  res.end(answer.body);
}

export async function startHttpApi(options: HttpApiOptions): Promise<HttpApi> {
  const routes = options.routes.map(compileRoute);
  const timeoutMs = options.integrationTimeoutMs ?? API_GATEWAY_TIMEOUT_MS;
  const maxBody = options.maxBodyBytes ?? API_GATEWAY_MAX_BODY_BYTES;
  const caller = options.caller ?? LOCAL_CALLER;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = performance.now();
    const method = (req.method ?? 'GET').toUpperCase();
    const url = req.url ?? '/';
    const path = url.split('?')[0] ?? '/';
    let loggedPath = path;
    let status = 500;
    try {
      let body: Buffer;
      try {
        body = await readBody(req, maxBody);
      } catch (err) {
        if (err instanceof BodyTooLarge) {
          const answer = gatewayAnswer(413, 'Request Entity Too Large');
          status = answer.statusCode;
          res.setHeader('connection', 'close');
          writeAnswer(res, answer, randomBytes(10).toString('base64'));
          return;
        }
        throw err;
      }
      let matched: { route: CompiledRoute; params: Record<string, string> } | undefined;
      for (const route of routes) {
        if (route.method !== method && route.method !== 'ANY') continue;
        const params = route.match(path);
        if (params) {
          matched = { route, params };
          break;
        }
      }
      if (!matched) {
        const answer = gatewayAnswer(404, 'Not Found');
        status = answer.statusCode;
        writeAnswer(res, answer, randomBytes(10).toString('base64'));
        return;
      }
      const event = toApiGatewayEvent(
        {
          method,
          url,
          httpVersion: req.httpVersion,
          rawHeaders: req.rawHeaders,
          body,
          sourceIp: (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
          localPort: req.socket.localPort ?? 0,
        },
        {
          routeKey: matched.route.routeKey,
          pathParameters: Object.keys(matched.params).length > 0 ? matched.params : undefined,
        },
        matched.route.anonymous ? null : caller,
      );
      if (matched.route.anonymous) loggedPath = matched.route.path;
      const answer = await invoke(matched.route, event, timeoutMs);
      status = answer.statusCode;
      writeAnswer(res, answer, event.requestContext.requestId);
    } finally {
      options.onRequest?.({
        method,
        path: loggedPath,
        status,
        ms: Math.round(performance.now() - started),
      });
    }
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) writeAnswer(res, gatewayAnswer(500, 'Internal Server Error'), 'none');
      else res.destroy();
    });
  });
  // Idle keep-alive sockets must not hold the process open after close().
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${shownHost}:${address.port}`,
    port: address.port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // In-flight requests get a moment to finish; then their sockets go too.
        setTimeout(() => server.closeAllConnections(), 2_000).unref();
      });
      return closing;
    },
  };
}
