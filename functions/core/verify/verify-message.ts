/** Reads one verify-queue message body; anything else than a part of a run is refused with the reason. */
import { isValidJobId } from '../jobs/keys.js';
import type { VerifyMessage } from '../model/verify.js';

export function parseVerifyMessage(body: string): { ok: VerifyMessage } | { bad: string } {
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(body) as Record<string, unknown>;
  } catch {
    return { bad: 'message body is not JSON' };
  }
  if (m === null || typeof m !== 'object' || m.v !== 1) return { bad: 'message v must be 1' };
  if (typeof m.runId !== 'string' || !isValidJobId(m.runId)) return { bad: 'message runId is not a run id' };
  if (typeof m.part !== 'number' || !Number.isInteger(m.part) || m.part < 1) {
    return { bad: 'message part must be a whole number from 1' };
  }
  if (m.cursor !== undefined && typeof m.cursor !== 'string')
    return { bad: 'message cursor must be a string' };
  return {
    ok: {
      v: 1,
      runId: m.runId,
      part: m.part,
      ...(m.cursor === undefined ? {} : { cursor: m.cursor as string }),
    },
  };
}
