// The one error the client throws: what the service answered (or that it could not be reached),
// with what a caller needs to act on it or to find the request in the service's logs.

export interface AdbfleetErrorDetails {
  status: number;
  code: string;
  requestId: string;
  body: unknown;
  /** how many times the request was sent (more than 1: it was answered 429 and sent again) */
  tries?: number;
  cause?: unknown;
}

/** The service's errors all carry an error_code: any other answer came from something in between
 * (a proxy's 502 page, a web server at the wrong URL). */
export function isServiceError(body: unknown): boolean {
  return body !== null && typeof body === 'object' && typeof (body as Record<string, unknown>).error_code === 'string';
}

/** Any non-2xx answer, or a 200 whose error_code is not "0". */
export class AdbfleetError extends Error {
  /** HTTP status (0 when the service could not be reached) */
  readonly status: number;
  /** the envelope's error_code, e.g. "KOOPHONE.API.1001" ("" if none) */
  readonly code: string;
  /** the x-request-id of the request */
  readonly requestId: string;
  /** the parsed answer, when there was one */
  readonly body: unknown;
  /** how many times the request was sent (more than 1 after 429s waited out) */
  readonly tries: number;

  constructor(message: string, details: AdbfleetErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'AdbfleetError';
    this.status = details.status;
    this.code = details.code;
    this.requestId = details.requestId;
    this.body = details.body;
    this.tries = details.tries ?? 1;
  }

  /** the answer is the service's own error envelope (not a proxy's page, not no answer) */
  get fromService(): boolean {
    return isServiceError(this.body);
  }
}
