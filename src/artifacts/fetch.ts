// Fetching install_package_url (SPEC §10) into the artifact directory: only from the hosts the
// operator allowed, each redirect's host checked again, the whole fetch within one deadline, the
// size bounded by the Content-Length and while streaming. The API node fetches while it answers
// the install request, so every failure is a FetchError whose message a tenant can act on ("host
// x is not in the allow-list", "HTTP 404 from x"); the addresses a name resolved to, socket
// details and the server's own error text stay out of it.
import { Readable } from 'node:stream';
import type { BlobRef } from '../core/index.js';
import { BlobTooLargeError, type BlobStore } from './blob-store.js';

export interface FetchOptions {
  /** host names or IP literals (bracketed IPv6), lowercase, matched exactly; empty: nothing is fetched */
  allowlist: readonly string[];
  /** the whole fetch: every redirect, the headers and the body */
  timeoutMs: number;
  maxBytes: number;
}

/** Why a URL could not be fetched, in words for the tenant who gave it. */
export class FetchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FetchError';
  }
}

export const MAX_REDIRECTS = 5;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** Connection failures by their code (undici's cause), as a tenant can read them. */
const CAUSES: Readonly<Record<string, string>> = {
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name could not be resolved',
  ECONNREFUSED: 'the connection was refused',
  ECONNRESET: 'the connection was reset',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
  ETIMEDOUT: 'the connection timed out',
  UND_ERR_SOCKET: 'the connection closed unexpectedly',
  UND_ERR_CONNECT_TIMEOUT: 'the connection timed out',
  UND_ERR_HEADERS_TIMEOUT: 'the server sent no answer in time',
  CERT_HAS_EXPIRED: 'its TLS certificate has expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'its TLS certificate is self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'its TLS certificate is not trusted (self-signed chain)',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'its TLS certificate is not trusted',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'its TLS certificate is not trusted',
  ERR_TLS_CERT_ALTNAME_INVALID: 'its TLS certificate is not for this host name',
};

/** The URL's host as the allow-list names hosts: lowercase, IPv6 in brackets, no port. */
function hostOf(url: URL): string {
  return url.hostname.toLowerCase();
}

/** The URL's port, its scheme's default when it names none. */
function portOf(url: URL): string {
  return url.port !== '' ? url.port : url.protocol === 'https:' ? '443' : '80';
}

/** An entry names a host (any port) or a host and port ("host:8080", "[::1]:8080"). */
function allowed(url: URL, allowlist: readonly string[]): boolean {
  const host = hostOf(url);
  return allowlist.includes(host) || allowlist.includes(`${host}:${portOf(url)}`);
}

/** The URL, or why it is not one that may be fetched. */
function checkUrl(raw: string, allowlist: readonly string[], redirected: boolean): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new FetchError(redirected ? 'redirected to something that is not a URL' : 'is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new FetchError(`${redirected ? 'redirected to' : 'uses'} the scheme ${url.protocol.slice(0, 20)} (only http and https are fetched)`);
  }
  if (url.username !== '' || url.password !== '') throw new FetchError('must not carry a user name or password');
  const host = hostOf(url);
  if (allowlist.length === 0) throw new FetchError('the operator has not allowed fetching URLs (the allow-list is empty)');
  if (!allowed(url, allowlist)) {
    // Where the host is listed with other ports, the port is what is refused: say so.
    const portOnly = allowlist.some((e) => e.startsWith(`${host}:`));
    const what = portOnly ? `host ${host.slice(0, 255)} on port ${portOf(url)}` : `host ${host.slice(0, 255)}`;
    throw new FetchError(`${redirected ? 'redirected to ' : ''}${what}${redirected ? ', which' : ''} is not in the allow-list`);
  }
  return url;
}

function secondsOf(ms: number): string {
  return `${ms / 1000} s`;
}

/** A failure of fetch() itself, in words. */
function connectionFailure(err: unknown, host: string, timeoutMs: number): Error {
  if (err instanceof FetchError || err instanceof BlobTooLargeError) return err;
  const e = err as { name?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return new FetchError(`timed out after ${secondsOf(timeoutMs)}`);
  const code = e.cause?.code;
  if (code !== undefined && CAUSES[code] !== undefined) return new FetchError(`could not fetch from ${host}: ${CAUSES[code]}`);
  // fetch() refuses some ports outright (the Fetch standard's "bad ports": 1, 25, 6000 ...).
  if (e.cause?.message === 'bad port') return new FetchError(`could not fetch from ${host}: the port is one that is never fetched`);
  if (e.name === 'TypeError') return new FetchError(`could not fetch from ${host}${code !== undefined ? ` (${code.slice(0, 40)})` : ''}`);
  // Anything else is ours (the artifact directory failing), not the tenant's: it stays an error
  // the API logs and answers as internal.
  return err as Error;
}

/**
 * Fetches `url` into the artifact directory and returns what was stored. Redirects are followed
 * by hand, at most MAX_REDIRECTS, each hop's host checked against the allow-list before it is
 * asked anything. The temporary file is gone after any failure.
 */
export async function fetchToBlob(url: string, opts: FetchOptions, blobs: BlobStore): Promise<BlobRef> {
  let target = checkUrl(url, opts.allowlist, false);
  const signal = AbortSignal.timeout(opts.timeoutMs);
  for (let hop = 0; ; hop++) {
    const host = hostOf(target);
    let response: Response;
    try {
      // identity: Content-Length is then the file's size, checked before any byte is stored.
      response = await fetch(target, { redirect: 'manual', signal, headers: { 'accept-encoding': 'identity' } });
    } catch (err) {
      throw connectionFailure(err, host, opts.timeoutMs);
    }
    if (REDIRECTS.has(response.status)) {
      await response.body?.cancel().catch(() => {});
      const location = response.headers.get('location');
      if (location === null) throw new FetchError(`HTTP ${response.status} from ${host} without a Location to follow`);
      if (hop >= MAX_REDIRECTS) throw new FetchError(`more than ${MAX_REDIRECTS} redirects`);
      let next: string;
      try {
        next = new URL(location, target).href;
      } catch {
        throw new FetchError(`${host} redirected to something that is not a URL`);
      }
      target = checkUrl(next, opts.allowlist, true);
      continue;
    }
    if (response.status < 200 || response.status > 299) {
      await response.body?.cancel().catch(() => {});
      throw new FetchError(`HTTP ${response.status} from ${host}`);
    }
    const length = Number(response.headers.get('content-length') ?? Number.NaN);
    if (Number.isFinite(length) && length > opts.maxBytes) {
      await response.body?.cancel().catch(() => {});
      throw new FetchError(`larger than ${opts.maxBytes} bytes (Content-Length ${length})`);
    }
    if (response.body === null) return blobs.write(Readable.from([]), opts.maxBytes);
    try {
      return await blobs.write(response.body, opts.maxBytes);
    } catch (err) {
      if (err instanceof BlobTooLargeError) throw new FetchError(`larger than ${opts.maxBytes} bytes`);
      if ((err as { name?: string }).name === 'TimeoutError' || signal.aborted) throw new FetchError(`timed out after ${secondsOf(opts.timeoutMs)}`);
      // The server went away mid-body (undici's "terminated"), not the artifact directory failing.
      if ((err as { name?: string }).name === 'TypeError') throw new FetchError(`the download from ${host} broke off`);
      throw err;
    }
  }
}
