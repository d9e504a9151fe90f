/**
 * The download host allow-list and SSRF guard. Every signed URL comes from 合思's answer; before the copy worker
 * GETs one (copyBatch's `checkUrl` hook) the URL must be https, carry no credentials, use the default port, name a
 * host on the allow-list (`*.aliyuncs.com` style wildcards match subdomains; other entries match exactly), and lead
 * only to public addresses: IP literals are classified after the WHATWG URL parser normalised them (so
 * http://2130706433/, 0x7f.1 and 0177.0.0.1 are all 127.0.0.1), and host names are resolved when a resolver is
 * given. The connect-time lookup in guarded-agent.ts checks the address actually dialled, which defeats DNS
 * rebinding between this check and the GET.
 *
 * `allowInsecure` (local stack and tests only) additionally allows http://, any port, loopback and private
 * addresses, and adds 127.0.0.1, localhost and [::1] to the list; the list still applies, and metadata/link-local
 * addresses stay refused in every mode.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { AppError, ErrorCode } from '../errors.js';
import { type AddressClass, classifyAddress } from './ip-ranges.js';

export const DOWNLOAD_HOST_NOT_ALLOWED = ErrorCode.DownloadHostNotAllowed;
export const DOWNLOAD_DNS_FAILED = ErrorCode.DownloadDnsFailed;

/** Hosts the local stack's sandbox serves from (plain http on loopback). */
export const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '[::1]'] as const;

export interface DownloadGuardOptions {
  /** Exact hosts and `*.example.com` wildcards (subdomains only, never the bare domain). */
  allowedHosts: readonly string[];
  /** Local stack / tests only: http, any port, loopback and private addresses. */
  allowInsecure: boolean;
  /** Resolves a host name to its addresses (all families). Without it, names are not resolved here. */
  resolveHost?: (host: string) => Promise<string[]>;
}

export interface DownloadGuard {
  /** Throws AppError `download_host_not_allowed` (permanent) for a URL that must not be fetched. */
  checkUrl(url: string): Promise<void>;
  /** Throws the same error when `address` (what `host` resolved to at connect time) must not be dialled. */
  checkAddress(host: string, address: string): void;
  /** The normalised allow-list in force (for logs and the README). */
  readonly allowedHosts: readonly string[];
}

/** Resolves every address of `host` with the system resolver (what the socket would dial). */
export async function systemResolveHost(host: string): Promise<string[]> {
  const answers = await lookup(host, { all: true, verbatim: true });
  return answers.map((a) => a.address);
}

function notAllowed(host: string | undefined, reason: string): AppError {
  // The host only: the path and query of a signed URL carry the signature.
  const what = host === undefined ? 'download URL' : `download host ${host}`;
  return new AppError(DOWNLOAD_HOST_NOT_ALLOWED, `${what} is not allowed: ${reason}`, {
    retryable: false,
    status: 502,
  });
}

function stripTrailingDot(host: string): string {
  return host.endsWith('.') ? host.slice(0, -1) : host;
}

interface HostRule {
  exact?: string;
  /** ".aliyuncs.com" for "*.aliyuncs.com". */
  suffix?: string;
}

/** Normalises an allow-list entry the way the URL parser normalises hosts (case, IDN → punycode, IPv6 form). */
export function parseHostRule(entry: string): HostRule {
  const raw = entry.trim();
  const bad = (why: string) =>
    new AppError(ErrorCode.Misconfigured, `allowed download host "${raw}" is not valid: ${why}`, {
      status: 500,
    });
  if (raw === '' || raw === '*') throw bad('name a host or a *.domain wildcard');
  const wildcard = raw.startsWith('*.');
  const body = wildcard ? raw.slice(2) : raw;
  if (/[\s/?#@*\\]/.test(body)) throw bad('only a host name, IP address or *.domain is allowed');
  if (/:\d*$/.test(body.startsWith('[') ? body.slice(body.indexOf(']') + 1) : body))
    throw bad('no port (write IPv6 addresses in brackets)');
  let hostname: string;
  let port: string;
  try {
    ({ hostname, port } = new URL(`https://${body}`));
  } catch {
    throw bad('not a host name');
  }
  if (port !== '') throw bad('no port');
  hostname = stripTrailingDot(hostname);
  if (wildcard) {
    if (isIP(hostname) !== 0 || hostname.startsWith('['))
      throw bad('wildcards take a domain, not an address');
    // "*.com" would let any site in: a wildcard needs a registrable-looking domain under it.
    if (!hostname.includes('.')) throw bad('a wildcard needs at least two labels after "*."');
    return { suffix: `.${hostname}` };
  }
  return { exact: hostname };
}

function isIpLiteral(hostname: string): boolean {
  return hostname.startsWith('[') || isIP(hostname) === 4;
}

export function createDownloadGuard(options: DownloadGuardOptions): DownloadGuard {
  const entries = options.allowInsecure
    ? [...options.allowedHosts, ...LOOPBACK_HOSTS]
    : [...options.allowedHosts];
  const rules = entries.map(parseHostRule);
  const exact = new Set(rules.flatMap((r) => (r.exact ? [r.exact] : [])));
  const suffixes = rules.flatMap((r) => (r.suffix ? [r.suffix] : []));
  const { allowInsecure, resolveHost } = options;

  const listed = (hostname: string): boolean =>
    exact.has(hostname) ||
    (!isIpLiteral(hostname) && suffixes.some((s) => hostname.endsWith(s) && hostname.length > s.length));

  /** undefined when `cls` may be dialled in this mode, else the reason. */
  const refusal = (cls: AddressClass): string | undefined => {
    if (cls === 'public') return undefined;
    if (cls === 'metadata') return 'link-local/metadata address';
    if (allowInsecure) return undefined;
    return cls === 'loopback' ? 'loopback address' : 'private or reserved address';
  };

  const checkAddress = (host: string, address: string): void => {
    const why = refusal(classifyAddress(address));
    if (why) throw notAllowed(host, `resolves to a ${why}`);
  };

  const checkUrl = async (raw: string): Promise<void> => {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw notAllowed(undefined, 'not a valid URL');
    }
    const hostname = stripTrailingDot(url.hostname);
    if (url.protocol !== 'https:' && !(allowInsecure && url.protocol === 'http:')) {
      throw notAllowed(hostname || undefined, `scheme ${url.protocol} is not https`);
    }
    if (url.username !== '' || url.password !== '') throw notAllowed(hostname, 'the URL carries credentials');
    if (!allowInsecure && url.port !== '') throw notAllowed(hostname, `port ${url.port} is not the default`);
    if (hostname === '') throw notAllowed(undefined, 'no host');

    if (isIpLiteral(hostname)) {
      const why = refusal(classifyAddress(hostname));
      if (why) throw notAllowed(hostname, `it is a ${why}`);
    }
    if (!listed(hostname)) throw notAllowed(hostname, 'not on the allow-list');
    if (isIpLiteral(hostname) || !resolveHost) return;

    let addresses: string[];
    try {
      addresses = await resolveHost(hostname);
    } catch (err) {
      // A resolver hiccup is worth another try later; the message names the host only.
      throw new AppError(DOWNLOAD_DNS_FAILED, `cannot resolve download host ${hostname}`, {
        retryable: true,
        status: 502,
        details: { code: (err as { code?: unknown }).code },
      });
    }
    if (addresses.length === 0) {
      throw new AppError(DOWNLOAD_DNS_FAILED, `download host ${hostname} has no addresses`, {
        retryable: true,
        status: 502,
      });
    }
    for (const address of addresses) checkAddress(hostname, address);
  };

  return { checkUrl, checkAddress, allowedHosts: entries };
}
