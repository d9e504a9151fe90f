/**
 * Outbound messages (出站消息): 合思 POSTs a JSON message to the URL the tenant admin configured when an approval
 * event happens. Delivered = an answer with one of the chosen codes (200/201/204), plus the keyword in the body
 * when one is set; otherwise it retries 0–3 times, the configured interval apart (vendor: 1–10 s; tests shorten
 * it), and a message that failed every attempt lands in the failure log that outboundMessageLogs answers from.
 * The POST carries no signature (the vendor documents none). Nothing here logs the URL, which may hold a secret.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import type { SandboxOutboundConfig, SandboxOutboundDelivery, SandboxStats } from './types.js';

/** The codes the vendor's console offers: 【HTTP204】【HTTP200】【HTTP201】. */
const ALLOWED_SUCCESS_CODES = new Set([200, 201, 204]);
/** What is kept of an answer body for the keyword check and the log. */
const MAX_ANSWER_BYTES = 64 * 1024;

type Config = Required<Omit<SandboxOutboundConfig, 'keyword' | 'actions'>> &
  Pick<SandboxOutboundConfig, 'keyword' | 'actions'>;

/** What to send about one event, and what the log says about where it came from. */
export interface OutboundMessage {
  flowId: string;
  action: string;
  nodeId: string;
  nodeName: string;
  body: Record<string, unknown>;
}

/** One row of the failure log, in the shape outboundMessageLogs answers with. */
export interface OutboundLogEntry {
  name: string;
  messageId: string;
  flowId: string;
  dataLinkId: string;
  messageCenterConfigId: null;
  repaymentApplyId: null;
  nodeName: string;
  nodeId: string;
  request: Record<string, unknown>;
  response: Record<string, unknown>;
  state: 'FAILURE';
  id: string;
  type: 'INVOKING';
  version: number;
  active: true;
  createTime: number;
  updateTime: number;
  corporationId: string;
  messageType: string;
}

interface Attempt {
  status: number;
  text: string;
  /** Why no answer came (an error code only: messages can carry the URL). */
  error?: string;
}

/** Checks a configuration as the vendor's console would, and fills in the defaults. */
export function outboundConfig(input: SandboxOutboundConfig): Config {
  let url: URL;
  try {
    url = new URL(input.url);
  } catch {
    throw new RangeError('outbound url must be an absolute http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new RangeError('outbound url must be http(s)');
  }
  const successCodes = input.successCodes ?? [200];
  if (successCodes.length === 0 || !successCodes.every((c) => ALLOWED_SUCCESS_CODES.has(c))) {
    throw new RangeError('outbound successCodes must be some of 200, 201, 204');
  }
  const retries = input.retries ?? 0;
  if (!Number.isInteger(retries) || retries < 0 || retries > 3) {
    throw new RangeError('outbound retries must be an integer 0..3');
  }
  const retryIntervalMs = input.retryIntervalMs ?? 1000;
  const timeoutMs = input.timeoutMs ?? 10_000;
  for (const [name, value, max] of [
    ['retryIntervalMs', retryIntervalMs, 10_000],
    ['timeoutMs', timeoutMs, 120_000],
  ] as const) {
    if (!Number.isInteger(value) || value < 0 || value > max) {
      throw new RangeError(`outbound ${name} must be an integer 0..${max}`);
    }
  }
  if (input.keyword !== undefined && input.keyword === '') throw new RangeError('outbound keyword is empty');
  return {
    url: url.href,
    successCodes: [...successCodes],
    retries,
    retryIntervalMs,
    timeoutMs,
    messageType: input.messageType ?? 'message',
    name: input.name ?? '单据审批通知',
    ...(input.keyword !== undefined ? { keyword: input.keyword } : {}),
    ...(input.actions ? { actions: [...input.actions] } : {}),
  };
}

export class OutboundSender {
  readonly logs: OutboundLogEntry[] = [];
  readonly deliveries: SandboxOutboundDelivery[] = [];
  readonly #now: () => number;
  readonly #stats: Required<SandboxStats>;
  readonly #corporationId: string;
  readonly #pending = new Set<Promise<void>>();
  readonly #closing = new AbortController();
  readonly #agent = new Agent({ keepAliveTimeout: 1000 });
  #config: Config | undefined;
  #messageId = '';
  #configurations = 0;

  constructor(now: () => number, stats: Required<SandboxStats>, corporationId: string) {
    this.#now = now;
    this.#stats = stats;
    this.#corporationId = corporationId;
  }

  configure(config: SandboxOutboundConfig | undefined): void {
    this.#config = config ? outboundConfig(config) : undefined;
    if (this.#config) {
      this.#configurations += 1;
      this.#messageId = `sbxOutMsg${String(this.#configurations).padStart(4, '0')}`;
    }
  }

  /** A description of the configuration without its URL. */
  describe(): Record<string, unknown> | null {
    if (!this.#config) return null;
    const { url: _url, ...rest } = this.#config;
    return { messageId: this.#messageId, ...rest };
  }

  /** Sends in the background (as 合思 does, after the event); settled() waits for it. */
  send(message: OutboundMessage): void {
    const config = this.#config;
    if (!config || this.#closing.signal.aborted) return;
    if (config.actions && !config.actions.includes(message.action)) return;
    const delivery = this.#deliver(config, this.#messageId, message).finally(() => {
      this.#pending.delete(delivery);
    });
    this.#pending.add(delivery);
  }

  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }

  async close(): Promise<void> {
    this.#closing.abort();
    await this.settled();
    await this.#agent.close();
  }

  async #deliver(config: Config, messageId: string, message: OutboundMessage): Promise<void> {
    const body = JSON.stringify(message.body);
    const firstAt = this.#now();
    const statuses: number[] = [];
    let last: Attempt = { status: 0, text: '' };
    for (let attempt = 0; attempt <= config.retries; attempt++) {
      if (attempt > 0 && !(await this.#pause(config.retryIntervalMs))) return;
      this.#stats.outboundAttempts += 1;
      last = await this.#attempt(config, body);
      if (this.#closing.signal.aborted) return;
      statuses.push(last.status);
      if (delivered(config, last)) {
        this.#stats.outboundDelivered += 1;
        this.deliveries.push({ ...pick(message), state: 'SUCCESS', statuses, request: message.body });
        return;
      }
    }
    this.#stats.outboundFailed += 1;
    this.deliveries.push({ ...pick(message), state: 'FAILURE', statuses, request: message.body });
    this.logs.push({
      name: config.name,
      messageId,
      flowId: message.flowId,
      dataLinkId: '',
      messageCenterConfigId: null,
      repaymentApplyId: null,
      nodeName: message.nodeName,
      nodeId: message.nodeId,
      request: message.body,
      response: responseOf(last),
      state: 'FAILURE',
      id: `sbxOutLog${String(this.logs.length + 1).padStart(6, '0')}`,
      type: 'INVOKING',
      version: statuses.length,
      active: true,
      createTime: firstAt,
      updateTime: this.#now(),
      corporationId: this.#corporationId,
      messageType: config.messageType,
    });
  }

  /** False when the sandbox closed meanwhile. */
  async #pause(ms: number): Promise<boolean> {
    if (ms > 0) await sleep(ms, undefined, { signal: this.#closing.signal }).catch(() => undefined);
    return !this.#closing.signal.aborted;
  }

  async #attempt(config: Config, body: string): Promise<Attempt> {
    try {
      const res = await request(config.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json;charset=UTF-8' },
        body,
        dispatcher: this.#agent,
        headersTimeout: config.timeoutMs,
        bodyTimeout: config.timeoutMs,
        signal: AbortSignal.any([this.#closing.signal, AbortSignal.timeout(config.timeoutMs)]),
      });
      return { status: res.statusCode, text: await readCapped(res.body) };
    } catch (error) {
      const e = error as { code?: unknown; name?: unknown };
      return { status: 0, text: '', error: String(e.code ?? e.name ?? 'Error') };
    }
  }
}

function pick(message: OutboundMessage): { flowId: string; action: string } {
  return { flowId: message.flowId, action: message.action };
}

function delivered(config: Config, attempt: Attempt): boolean {
  if (!config.successCodes.includes(attempt.status)) return false;
  return config.keyword === undefined || attempt.text.includes(config.keyword);
}

/** The answer as the log shows it: its JSON object when it is one, else its status and text. */
function responseOf(attempt: Attempt): Record<string, unknown> {
  if (attempt.error !== undefined) return { error: attempt.error };
  try {
    const parsed: unknown = JSON.parse(attempt.text);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
      return parsed as Record<string, unknown>;
    }
  } catch {
    // not JSON: kept as text below
  }
  return { statusCode: attempt.status, body: attempt.text };
}

async function readCapped(body: AsyncIterable<unknown>): Promise<string> {
  const kept: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const b = chunk as Buffer;
    if (size < MAX_ANSWER_BYTES) kept.push(b.subarray(0, MAX_ANSWER_BYTES - size));
    size += b.length;
  }
  return Buffer.concat(kept).toString('utf8');
}
