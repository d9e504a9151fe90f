/**
 * Armed faults and the body writer that carries out the download-body ones (stall, throttle, truncate, reset).
 * Each fault fires on the next `times` matching requests, then disarms itself.
 */
import type { ServerResponse } from 'node:http';
import { releaseChunk } from './content.js';
import type { SandboxFault, SandboxRoute } from './types.js';

export type FaultKind = SandboxFault['kind'];
export type ConcreteRoute = Exclude<SandboxRoute, 'any'>;
type FaultOf<K extends FaultKind> = Extract<SandboxFault, { kind: K }>;

interface Armed {
  fault: SandboxFault;
  remaining: number;
}

export class FaultBoard {
  #armed: Armed[] = [];
  readonly #onFire: (kind: FaultKind) => void;

  constructor(onFire: (kind: FaultKind) => void) {
    this.#onFire = onFire;
  }

  inject(fault: SandboxFault): void {
    const times = fault.times ?? 1;
    if (!Number.isInteger(times) || times < 1) throw new RangeError(`fault.times must be a positive integer`);
    this.#armed.push({ fault: { ...fault }, remaining: times });
  }

  clear(): void {
    this.#armed = [];
  }

  /**
   * Consumes one firing of the first armed fault of `kind` that applies to `route` (oldest first); a fault naming
   * a `fileId` applies only to a request for that file.
   */
  take<K extends FaultKind>(
    kind: K,
    route: ConcreteRoute,
    about: { fileId?: string } = {},
  ): FaultOf<K> | undefined {
    const index = this.#armed.findIndex(
      (a) =>
        a.fault.kind === kind &&
        (!('route' in a.fault) || a.fault.route === 'any' || a.fault.route === route) &&
        (!('fileId' in a.fault) || a.fault.fileId === undefined || a.fault.fileId === about.fileId),
    );
    if (index < 0) return undefined;
    const armed = this.#armed[index]!;
    armed.remaining -= 1;
    if (armed.remaining <= 0) this.#armed.splice(index, 1);
    this.#onFire(kind);
    return armed.fault as FaultOf<K>;
  }
}

/** How to deliver one body; every field optional (all absent = plain streaming with backpressure). */
export interface BodyPlan {
  /** Pause once after this many bytes, for `stallMs` (undefined = until the client gives up). */
  stallAfter?: number;
  stallMs?: number;
  /** Throttle to this rate. */
  bytesPerSecond?: number;
  /** Stop after this many bytes and cut the connection: FIN (`truncate`) or RST (`reset`). */
  cutAfter?: number;
  cut?: 'truncate' | 'reset';
}

export type BodyOutcome = 'complete' | 'aborted' | 'cut';

/**
 * Writes `chunks` to `res` honouring backpressure (waits for 'drain' whenever write() says false), then ends it.
 * The response must already carry its status and headers. Resolves when done or when the client went away.
 */
export async function writeBody(
  res: ServerResponse,
  chunks: Iterable<Buffer>,
  plan: BodyPlan = {},
): Promise<BodyOutcome> {
  let sent = 0;
  let stallPending = plan.stallAfter !== undefined;
  const started = Date.now();
  // Throttled bodies go out in small slices so the rate holds within ~50 ms.
  const slice = plan.bytesPerSecond ? Math.max(1, Math.floor(plan.bytesPerSecond / 20)) : Infinity;
  res.flushHeaders();

  for (const chunk of chunks) {
    let offset = 0;
    while (offset < chunk.length) {
      if (res.destroyed) return 'aborted';
      if (stallPending && sent >= plan.stallAfter!) {
        stallPending = false;
        if (!(await sleepUnlessClosed(res, plan.stallMs))) return 'aborted';
        continue;
      }
      if (plan.cutAfter !== undefined && sent >= plan.cutAfter) {
        await cutConnection(res, plan.cut ?? 'truncate');
        return 'cut';
      }
      let n = Math.min(chunk.length - offset, slice);
      if (stallPending) n = Math.min(n, plan.stallAfter! - sent);
      if (plan.cutAfter !== undefined) n = Math.min(n, plan.cutAfter - sent);
      const piece = chunk.subarray(offset, offset + n);
      offset += n;
      sent += n;
      const last = offset >= chunk.length;
      const accepted = res.write(piece, last ? () => releaseChunk(chunk) : undefined);
      if (!accepted && !(await waitUnlessClosed(res, 'drain'))) return 'aborted';
      if (plan.bytesPerSecond) {
        const due = started + (sent / plan.bytesPerSecond) * 1000;
        if (!(await sleepUnlessClosed(res, Math.max(0, due - Date.now())))) return 'aborted';
      }
    }
  }
  if (stallPending && !(await sleepUnlessClosed(res, plan.stallMs))) return 'aborted';
  if (plan.cutAfter !== undefined) {
    await cutConnection(res, plan.cut ?? 'truncate');
    return 'cut';
  }
  if (res.destroyed) return 'aborted';
  const finished = waitUnlessClosed(res, 'finish');
  res.end();
  return (await finished) ? 'complete' : 'aborted';
}

/**
 * Ends the connection under a response that announced more than it sent. `truncate` half-closes (FIN) so the
 * client sees a premature end of a Content-Length body; `reset` sends RST (ECONNRESET for the client).
 */
export async function cutConnection(res: ServerResponse, how: 'truncate' | 'reset'): Promise<void> {
  const socket = res.socket;
  if (!socket || socket.destroyed) return;
  // Let what was written reach the kernel first, so the client really gets the bytes before the cut.
  await new Promise<void>((resolve) => {
    if (socket.writableLength === 0) resolve();
    else socket.write('', () => resolve());
  });
  if (how === 'reset') socket.resetAndDestroy();
  else socket.end(() => socket.destroy());
}

/** Resolves true on `event`, false if the response closes first (client gone, socket cut). */
function waitUnlessClosed(res: ServerResponse, event: 'drain' | 'finish'): Promise<boolean> {
  return new Promise((resolve) => {
    if (res.destroyed) {
      resolve(false);
      return;
    }
    const done = (ok: boolean) => () => {
      res.off(event, onEvent);
      res.off('close', onClose);
      resolve(ok);
    };
    const onEvent = done(true);
    const onClose = done(false);
    res.once(event, onEvent);
    res.once('close', onClose);
  });
}

/** Sleeps `ms` (undefined = until the response closes); false when the response closed first. */
export function sleepUnlessClosed(res: ServerResponse, ms: number | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    if (res.destroyed) {
      resolve(false);
      return;
    }
    const onClose = () => {
      if (timer) clearTimeout(timer);
      resolve(false);
    };
    const timer =
      ms === undefined
        ? undefined
        : setTimeout(() => {
            res.off('close', onClose);
            resolve(true);
          }, ms);
    res.once('close', onClose);
  });
}
