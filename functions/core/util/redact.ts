/**
 * Redaction shared by the logger, error messages and reports. Secrets never leave: access tokens, app secrets,
 * signed-URL queries and download headers are replaced before anything is written.
 */
const SECRET_FIELD =
  /^(accesstoken|refreshtoken|appsecurity|appsecret|authorization|x-oss-date|x-oss-security-token|security-token|signature|password|secret|token|headers|cookie|set-cookie|url|thumburl|signedurl)$/i;

/** Drops the query and fragment of a URL (where signatures live); keeps scheme, host and path for diagnosis. */
export function redactUrl(raw: string): string {
  try {
    const u = new URL(raw);
    return `${u.protocol}//${u.host}${u.pathname}${u.search ? '?[redacted]' : ''}`;
  } catch {
    return '[redacted-url]';
  }
}

/** Scrubs free text: any URL's query, `accessToken=` pairs and `OSS <id>:<sig>` authorizations. */
export function redactText(text: string): string {
  return text
    .replace(/https?:\/\/[^\s"'<>]+/g, (m) => redactUrl(m))
    .replace(/(accessToken|appSecurity|refreshToken|Signature|security-token)=([^&\s"']+)/gi, '$1=[redacted]')
    .replace(/OSS\s+[A-Za-z0-9]+:[A-Za-z0-9+/=]+/g, 'OSS [redacted]');
}

/** Deep copy with secret fields replaced and strings scrubbed. Cycles and depth are bounded. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8) return '[depth]';
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Error) {
    const out: Record<string, unknown> = { name: value.name, message: redactText(value.message) };
    const code = (value as { code?: unknown }).code;
    if (code !== undefined) out.code = code;
    if (value.cause !== undefined) out.cause = redact(value.cause, depth + 1);
    return out;
  }
  if (Array.isArray(value)) return value.slice(0, 200).map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_FIELD.test(k) && v !== undefined && v !== null ? '[redacted]' : redact(v, depth + 1);
  }
  return out;
}
