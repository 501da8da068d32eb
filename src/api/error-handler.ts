// The one place errors become HTTP responses (SPEC §2's envelope). Routes and hooks throw.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { API_ERRORS, ApiError } from '../core/index.js';
import { StoreError, StoreErrorCode, type Store } from '../store/index.js';
import { tenantAuth } from './auth.js';
import { instancesNotFound } from './ownership.js';
import { requireRequestId } from './request-id.js';

function envelope(code: string, msg: string): { error_code: string; error_msg: string } {
  return { error_code: code, error_msg: msg };
}

/** Fastify's own request errors, in words that name the part of the request at fault. */
function describeFastifyError(err: FastifyError): string {
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'body: content-type must be application/json';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'body: must be a JSON object';
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return 'body: is not valid JSON';
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return 'body: content-length does not match the body';
    default:
      return 'request: is not valid';
  }
}

/** Store errors that are the caller's mistake (recognised by code); the rest are internal. */
function fromStoreError(err: StoreError, request: FastifyRequest): ApiError | null {
  switch (err.code) {
    case StoreErrorCode.InstanceNotOwned:
      // createTask checks ownership in its transaction (routes/commands.ts).
      return instancesNotFound(err.instanceIds);
    case StoreErrorCode.IdempotencyConflict:
      return new ApiError('IDEMPOTENCY_CONFLICT', 'x-request-id: already used for another request');
    case StoreErrorCode.InvalidCursor:
      return new ApiError('INVALID_REQUEST', 'cursor: is not a cursor this API returned');
    case StoreErrorCode.NoTenant:
      return doesNotExist(request, 'tenant_id', err.tenantId ?? '');
    case StoreErrorCode.NoInstance:
      return doesNotExist(request, 'instance_id', err.instanceIds[0] ?? '');
    case StoreErrorCode.InstanceExists:
      return new ApiError('CONFLICT', `instance_id: ${err.instanceIds[0] ?? ''} already exists`);
    default:
      return null;
  }
}

/** docs/API.md (admin): an id named in the path that does not exist is a 404; named in the body,
 * a 400 (messages start with the field's name either way). */
function doesNotExist(request: FastifyRequest, field: string, id: string): ApiError {
  const params = request.params as Record<string, unknown> | undefined;
  return new ApiError(params?.[field] === id ? 'NOT_FOUND' : 'INVALID_REQUEST', `${field} ${id} does not exist`);
}

export function errorHandler(err: FastifyError | ApiError | StoreError, request: FastifyRequest, reply: FastifyReply): void {
  if (err instanceof StoreError) err = fromStoreError(err, request) ?? err;
  if (err instanceof ApiError) {
    reply.headers(err.headers).code(err.status).send(envelope(err.code, err.message));
    return;
  }
  const status = (err as FastifyError).statusCode ?? 500;
  if (status === 413) {
    const e = API_ERRORS.PAYLOAD_TOO_LARGE;
    reply.code(e.status).send(envelope(e.code, 'body: larger than 64 KiB'));
    return;
  }
  if (status >= 400 && status < 500) {
    // Bad JSON, wrong content type, aborted bodies: the client's fault, answered as 1000.
    const e = API_ERRORS.INVALID_REQUEST;
    reply.code(e.status).send(envelope(e.code, describeFastifyError(err as FastifyError)));
    return;
  }
  request.log.error({ err, reqId: request.id }, 'unexpected error');
  const e = API_ERRORS.INTERNAL;
  reply.code(e.status).send(envelope(e.code, `internal error (request ${request.id})`));
}

export async function notFoundHandler(request: FastifyRequest): Promise<never> {
  const path = (request.url.split('?')[0] ?? '').slice(0, 200);
  throw new ApiError('NOT_FOUND', `route: ${request.method} ${path} does not exist`);
}

/** Errors Fastify's router raises before any hook runs (bad percent-encoding, an overlong path
 * parameter): answered here, in the envelope, with the request id. A tenant path still checks
 * the request id and the token first, in SPEC §2's order, as its hooks would have. */
export function frameworkErrorHandler(store: Store) {
  const authenticate = tenantAuth(store);
  return (err: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    const send = (e: ApiError): void => {
      void reply.header('x-request-id', request.id).headers(e.headers).code(e.status).send(envelope(e.code, e.message));
    };
    const msg = err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'route: a path parameter is too long' : 'route: the URL is not valid';
    const invalid = new ApiError('INVALID_REQUEST', msg);
    if (!(request.raw.url ?? '').startsWith('/v1/')) return send(invalid);
    requireRequestId(request)
      .then(() => authenticate(request))
      .then(
        () => send(invalid),
        (e: unknown) => {
          if (e instanceof ApiError) return send(e);
          request.log.error({ err: e, reqId: request.id }, 'unexpected error');
          send(new ApiError('INTERNAL', `internal error (request ${request.id})`));
        },
      );
  };
}
