// One request to the service: the URL under the base (whose path prefix is kept), the token and a
// fresh x-request-id on every request, and every way it can fail turned into an AdbfleetError.
import { AdbfleetError, isServiceError } from './errors.js';

export interface ClientOptions {
  /** service base URL, e.g. http://127.0.0.1:8080 (a path prefix is kept) */
  url: string;
  /** tenant token (createClient) or admin token (createAdminClient) */
  token: string;
  /** default globalThis.fetch (the console passes the browser's) */
  fetch?: typeof fetch;
  /** tries of a request the service answers 429 before it throws (default 5; 1: none again). Only
   * a request safe to repeat is sent again: a GET, or a POST the service answers once per
   * x-request-id (a command, an operation), repeated with the same id. */
  rateLimitTries?: number;
}

export type QueryValue = string | number | undefined;

/** A file's bytes for an upload: whole (Blob, Uint8Array) or streamed (a ReadableStream, or any
 * async iterable of chunks, e.g. a Node stream), so a large file is never held in memory. */
export type UploadBody = Blob | Uint8Array | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;

export interface Call {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  query?: Readonly<Record<string, QueryValue>>;
  /** sent as JSON */
  body?: unknown;
  /** sent as they are, instead of `body` */
  bytes?: { body: UploadBody; contentType: string };
  requestId?: string;
  /** a POST the service runs once per x-request-id (SPEC §3), so safe to send again with it */
  idempotent?: boolean;
  signal?: AbortSignal;
  accept?: string;
}

const RATE_LIMIT_TRIES = 5;
/** A Retry-After longer than this is not waited for: the caller hears of the limit instead. */
const MAX_RETRY_AFTER_S = 60;

/** A UUID for x-request-id; browsers outside secure contexts have no randomUUID. */
function newRequestId(): string {
  const c = globalThis.crypto;
  if (typeof c.randomUUID === 'function') return c.randomUUID();
  const b = c.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

export class Transport {
  readonly #base: string;
  readonly #fetch: typeof fetch;
  readonly #auth: Readonly<Record<string, string>>;
  readonly #tries: number;

  constructor(opts: ClientOptions, auth: Readonly<Record<string, string>>) {
    this.#base = opts.url.replace(/\/+$/, '');
    // Bound: a browser's fetch called as a method of another object throws "Illegal invocation".
    this.#fetch = opts.fetch ?? globalThis.fetch.bind(globalThis);
    this.#auth = auth;
    this.#tries = Math.max(1, opts.rateLimitTries ?? RATE_LIMIT_TRIES);
  }

  #url(path: string, query: Readonly<Record<string, QueryValue>> = {}): string {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
    const qs = params.toString();
    return `${this.#base}${path}${qs === '' ? '' : `?${qs}`}`;
  }

  /** The raw answer of a 2xx; any other answer, or none, throws. A 429 is waited out as its
   * Retry-After says, when the request is safe to repeat, up to the tries allowed. */
  async send(call: Call): Promise<{ response: Response; requestId: string }> {
    // One id for every try: a repeated POST is the same request to the service, run once.
    const requestId = call.requestId ?? newRequestId();
    const repeatable = call.method === 'GET' || call.idempotent === true;
    for (let tries = 1; ; tries++) {
      const response = await this.#sendOnce(call, requestId);
      if (response.ok) return { response, requestId };
      const body = await readBody(response);
      const wait = response.status === 429 && repeatable && tries < this.#tries ? retryAfterMs(response.headers.get('retry-after')) : null;
      if (wait === null) throw refused(call, response.status, body, requestId, tries);
      await sleep(wait, call.signal);
    }
  }

  async #sendOnce(call: Call, requestId: string): Promise<Response> {
    const url = this.#url(call.path, call.query);
    const headers: Record<string, string> = { ...this.#auth, 'x-request-id': requestId, accept: call.accept ?? 'application/json' };
    if (call.body !== undefined) headers['content-type'] = 'application/json';
    if (call.bytes !== undefined) headers['content-type'] = call.bytes.contentType;
    let response: Response;
    try {
      response = await this.#fetch(url, {
        method: call.method,
        headers,
        ...(call.body === undefined ? {} : { body: JSON.stringify(call.body) }),
        ...(call.bytes === undefined ? {} : bodyInit(call.bytes.body)),
        ...(call.signal === undefined ? {} : { signal: call.signal }),
      });
    } catch (err) {
      if (call.signal?.aborted === true) throw err;
      const why = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
      throw new AdbfleetError(`cannot reach ${call.method} ${url}: ${why}`, { status: 0, code: '', requestId, body: undefined, cause: err });
    }
    return response;
  }

  /** The parsed JSON of a 2xx answer; a 200 envelope whose error_code is not "0" throws. */
  async json(call: Call): Promise<unknown> {
    const { response, requestId } = await this.send(call);
    const body = await readBody(response);
    if (typeof body === 'string') throw new AdbfleetError(notOurs(call, response.status, body), { status: response.status, code: '', requestId, body });
    const code = codeOf(body);
    if (code !== '' && code !== '0') throw refused(call, response.status, body, requestId);
    return body;
  }
}

/** Retry-After in milliseconds (whole seconds or an HTTP date); null when absent, unreadable or
 * too long to wait. */
function retryAfterMs(header: string | null): number | null {
  if (header === null) return null;
  const s = /^\d+$/.test(header.trim()) ? Number(header.trim()) : (Date.parse(header) - Date.now()) / 1000;
  if (!Number.isFinite(s) || s > MAX_RETRY_AFTER_S) return null;
  return Math.max(0, s) * 1000;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) return reject(signal.reason as Error);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** fetch's body for an upload. A stream needs `duplex: 'half'` (fetch refuses one without it);
 * an async iterable becomes a ReadableStream, the one streaming body browsers take too. */
function bodyInit(body: UploadBody): { body: Blob | Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array>; duplex?: 'half' } {
  if (body instanceof Blob) return { body };
  // The DOM's BodyInit takes bytes over an ArrayBuffer (not a SharedArrayBuffer, which fetch
  // refuses at run time anyway): said so to the compiler, nothing converted.
  if (body instanceof Uint8Array) return { body: body as Uint8Array<ArrayBuffer> };
  if (body instanceof ReadableStream) return { body, duplex: 'half' };
  const it = body[Symbol.asyncIterator]();
  const stream = new ReadableStream<Uint8Array>({
    async pull(ctl) {
      const next = await it.next();
      if (next.done === true) ctl.close();
      else ctl.enqueue(next.value);
    },
    async cancel(reason) {
      await it.return?.(reason);
    },
  });
  return { body: stream, duplex: 'half' };
}

/** JSON when it parses, the text otherwise ("" for none). */
async function readBody(response: Response): Promise<unknown> {
  const text = await response.text().catch(() => '');
  if (text === '') return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function field(body: unknown, name: string): string {
  if (body === null || typeof body !== 'object') return '';
  const v = (body as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : '';
}

const codeOf = (body: unknown): string => field(body, 'error_code');

/** How many characters of an answer that is not the service's are quoted. */
const QUOTED_CHARS = 100;

/** One line for an answer that is not the service's, quoting its start (an HTML page's newlines
 * and control characters as spaces). */
function notOurs(call: Call, status: number, body: unknown): string {
  const text = (typeof body === 'string' ? body : JSON.stringify(body))
    // eslint-disable-next-line no-control-regex -- control characters are what is replaced
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\s]+/g, ' ')
    .trim();
  const quoted = text === '' ? 'no body' : text.length > QUOTED_CHARS ? `${text.slice(0, QUOTED_CHARS).trimEnd()}…` : text;
  return `HTTP ${status} from ${call.method} ${call.path}: not an adbfleet answer (${quoted})`;
}

function refused(call: Call, status: number, body: unknown, requestId: string, tries = 1): AdbfleetError {
  const code = codeOf(body);
  const message = isServiceError(body) ? `${call.method} ${call.path}: ${status}${code === '' ? '' : ` ${code}`}: ${field(body, 'error_msg')}` : notOurs(call, status, body);
  return new AdbfleetError(message, {
    status,
    code,
    requestId,
    body,
    tries,
  });
}
