// The one place errors become HTTP responses (SPEC §2's envelope). Routes and hooks throw.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, LIMITS } from '../core/index.js';
import { StoreError, StoreErrorCode, type Store } from '../store/index.js';
import { tenantAuth } from './auth.js';
import { requireRequestId } from './request-id.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** the error_code this request was answered with, once the error handler answered (the audit log reads it) */
    errorCode: string | null;
  }
}

function envelope(code: string, msg: string): { error_code: string; error_msg: string } {
  return { error_code: code, error_msg: msg };
}

/** Fastify's own request errors, as the registry's errors that name the part of the request at fault. */
function fromFastifyError(
  err: FastifyError,
): 'BODY_MEDIA_TYPE' | 'BODY_EMPTY' | 'BODY_NOT_JSON' | 'BODY_LENGTH_MISMATCH' | 'INVALID_REQUEST' {
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'BODY_MEDIA_TYPE';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'BODY_EMPTY';
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return 'BODY_NOT_JSON';
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return 'BODY_LENGTH_MISMATCH';
    default:
      return 'INVALID_REQUEST';
  }
}

/** Store errors that are the caller's mistake (recognised by code); the rest are internal. */
function fromStoreError(err: StoreError, request: FastifyRequest): ApiError | null {
  switch (err.code) {
    case StoreErrorCode.InstanceNotOwned:
      // createTask checks ownership in its transaction (routes/commands.ts).
      return new ApiError('INSTANCE_NOT_FOUND', { ids: err.instanceIds });
    case StoreErrorCode.NoArtifact:
      // createTask found the upload purged after the route's check: as if it had never been there.
      return new ApiError('NO_SUCH_ARTIFACT', { artifactId: err.artifactId ?? '' });
    case StoreErrorCode.IdempotencyConflict:
      return new ApiError('IDEMPOTENCY_CONFLICT');
    case StoreErrorCode.InvalidCursor:
      return new ApiError('INVALID_CURSOR');
    case StoreErrorCode.NoTenant: {
      // docs/API.md (admin): an id named in the path that does not exist is a 404; in the body, a 400.
      const tenantId = err.tenantId ?? '';
      return inPath(request, 'tenant_id', tenantId)
        ? new ApiError('NO_SUCH_TENANT', { tenantId })
        : new ApiError('UNKNOWN_TENANT', { tenantId });
    }
    case StoreErrorCode.NoInstance:
      return new ApiError('NO_SUCH_INSTANCE', { instanceId: err.instanceIds[0] ?? '' });
    case StoreErrorCode.InstanceExists:
      return new ApiError('INSTANCE_EXISTS', { instanceId: err.instanceIds[0] ?? '' });
    default:
      return null;
  }
}

function inPath(request: FastifyRequest, param: string, value: string): boolean {
  return (request.params as Record<string, unknown> | undefined)?.[param] === value;
}

export function errorHandler(err: FastifyError | ApiError | StoreError, request: FastifyRequest, reply: FastifyReply): void {
  if (err instanceof StoreError) err = fromStoreError(err, request) ?? err;
  const e = err instanceof ApiError ? err : fromOtherError(err, request);
  request.errorCode = e.code;
  reply.headers(e.headers).code(e.status).send(envelope(e.code, e.message));
}

function fromOtherError(err: FastifyError | StoreError, request: FastifyRequest): ApiError {
  const status = (err as FastifyError).statusCode ?? 500;
  // A body too large for the route is a 413 whatever its type (SPEC §2): Fastify refuses a type it
  // has no parser for before it reads the body, so the declared length decides.
  if (status === 413 || ((err as FastifyError).code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' && declaredLength(request) > request.routeOptions.bodyLimit)) {
    // The bulk registration route alone takes a larger body: its 413 says its own limit.
    return request.routeOptions.bodyLimit === LIMITS.bulkBodyBytes ? new ApiError('BULK_PAYLOAD_TOO_LARGE') : new ApiError('PAYLOAD_TOO_LARGE');
  }
  // Bad JSON, wrong content type, aborted bodies: the client's fault, answered as 1000.
  if (status >= 400 && status < 500) return new ApiError(fromFastifyError(err as FastifyError));
  request.log.error({ err, reqId: request.id }, 'unexpected error');
  return new ApiError('INTERNAL', { requestId: request.id });
}

/** The request's Content-Length (0 when absent or not a number). */
function declaredLength(request: FastifyRequest): number {
  const n = Number(request.headers['content-length']);
  return Number.isFinite(n) ? n : 0;
}

export async function notFoundHandler(request: FastifyRequest): Promise<never> {
  throw new ApiError('NO_SUCH_ROUTE', { method: request.method, path: request.url.split('?')[0] ?? '' });
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
    const invalid = new ApiError(err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'PATH_PARAM_TOO_LONG' : 'INVALID_URL');
    if (!(request.raw.url ?? '').startsWith('/v1/')) return send(invalid);
    requireRequestId(request)
      .then(() => authenticate(request))
      .then(
        () => send(invalid),
        (e: unknown) => {
          if (e instanceof ApiError) return send(e);
          request.log.error({ err: e, reqId: request.id }, 'unexpected error');
          send(new ApiError('INTERNAL', { requestId: request.id }));
        },
      );
  };
}
