/**
 * The undici Agent for downloads, with the SSRF check moved to the moment of connecting: the socket's own DNS
 * lookup goes through `guard.checkAddress`, so the address dialled is the address checked. A host that answered
 * with a public address when checkUrl resolved it and with 127.0.0.1 or 169.254.169.254 a moment later (DNS
 * rebinding) fails to connect instead of reaching the inside. IP literals skip lookup; checkUrl covers those.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions, type LookupOptions } from 'node:dns';
import { Agent } from 'undici';
import type { DownloadGuard } from './download-guard.js';

/** Timeouts of every download connection (the downloader's own Agent uses them too). */
export const DEFAULT_DOWNLOAD_TIMEOUTS = {
  connectTimeoutMs: 10_000,
  /** Request sent → response headers. OSS answers headers fast; a long wait means a stuck connection. */
  headersTimeoutMs: 30_000,
  /** Longest gap between two body chunks (not the whole body: a 4 GiB file takes minutes). */
  bodyTimeoutMs: 60_000,
} as const;

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/** The shape net.connect calls (`all` is set when it races address families). */
export type GuardedLookup = (hostname: string, options: LookupOptions, callback: LookupCallback) => void;

/** What resolves names before the guard sees them; dns.lookup by default (tests pass a fixed table). */
export type BaseLookup = (
  hostname: string,
  options: LookupAllOptions,
  callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

export function createGuardedLookup(guard: DownloadGuard, base: BaseLookup = dnsLookup): GuardedLookup {
  return (hostname, options, callback) => {
    base(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) {
        callback(err, []);
        return;
      }
      try {
        if (addresses.length === 0)
          throw Object.assign(new Error(`no addresses for ${hostname}`), { code: 'ENOTFOUND' });
        // Every address must pass: the socket may race through all of them (autoSelectFamily).
        for (const a of addresses) guard.checkAddress(hostname, a.address);
      } catch (e) {
        callback(e as NodeJS.ErrnoException, []);
        return;
      }
      if (options.all) callback(null, addresses);
      else callback(null, (addresses[0] as LookupAddress).address, (addresses[0] as LookupAddress).family);
    });
  };
}

export interface GuardedAgentOptions {
  guard: DownloadGuard;
  lookup?: BaseLookup;
  connectTimeoutMs?: number;
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
}

/** An Agent with the downloader's timeouts and the guarded lookup; pass it as `dispatcher` to the downloader. */
export function createGuardedAgent(options: GuardedAgentOptions): Agent {
  return new Agent({
    connect: {
      timeout: options.connectTimeoutMs ?? DEFAULT_DOWNLOAD_TIMEOUTS.connectTimeoutMs,
      lookup: createGuardedLookup(options.guard, options.lookup),
    },
    headersTimeout: options.headersTimeoutMs ?? DEFAULT_DOWNLOAD_TIMEOUTS.headersTimeoutMs,
    bodyTimeout: options.bodyTimeoutMs ?? DEFAULT_DOWNLOAD_TIMEOUTS.bodyTimeoutMs,
    // No redirects are followed (undici's request() does not without an interceptor): a 3xx is a failed GET.
  });
}
