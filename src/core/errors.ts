// The API error registry: every error the HTTP API can answer, with its stable code and status.
// Routes throw ApiError; one error handler turns it into SPEC's envelope.

export const API_ERRORS = {
  MISSING_REQUEST_ID: { status: 400, code: 'KOOPHONE.API.0002' },
  UNAUTHORIZED: { status: 401, code: 'APIGW.0301' },
  INVALID_REQUEST: { status: 400, code: 'KOOPHONE.API.1000' },
  PAYLOAD_TOO_LARGE: { status: 413, code: 'KOOPHONE.API.1000' },
  IDEMPOTENCY_CONFLICT: { status: 409, code: 'KOOPHONE.API.1000' },
  INSTANCE_NOT_FOUND: { status: 400, code: 'KOOPHONE.API.1001' },
  INSTANCE_NOT_RUNNING: { status: 400, code: 'KOOPHONE.API.5005' },
  RATE_LIMITED: { status: 429, code: 'KOOPHONE.API.1429' },
  INTERNAL: { status: 500, code: 'KOOPHONE.API.9999' },
  // Admin API (SPEC §8): 404 and 409 where they fit.
  NOT_FOUND: { status: 404, code: 'KOOPHONE.API.1000' },
  CONFLICT: { status: 409, code: 'KOOPHONE.API.1000' },
} as const;
export type ApiErrorName = keyof typeof API_ERRORS;

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly headers: Readonly<Record<string, string>>;
  constructor(name: ApiErrorName, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = API_ERRORS[name].status;
    this.code = API_ERRORS[name].code;
    this.headers = headers;
  }
}
