/**
 * The first two checks of every JSON request body (POST /copy-jobs, /verify-jobs, /form-archives): it parses, and it
 * is an object. Each says so in the same words, a 400 that never quotes the input (JSON.parse's own message would).
 */
import { ValidationError } from '../errors.js';

export function parseJsonBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ValidationError('body is not valid JSON');
  }
}

/** `body` as an object; else a 400 naming the shapes the route takes, e.g. `{"refs": [...]} or {"manifest": …}`. */
export function jsonObject(body: unknown, shapes: string): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ValidationError(`body must be a JSON object: ${shapes}`);
  }
  return body as Record<string, unknown>;
}
