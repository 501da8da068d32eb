// x-request-id (SPEC §2): the caller's, when valid, names the request in logs and comes back on
// every response; otherwise a generated one does. Tenant routes require a valid one.
import type { IncomingMessage } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, isValidRequestId, newRequestId } from '../core/index.js';

export const REQUEST_ID_HEADER = 'x-request-id';

/** KooPhone documents x-request-id as a query parameter of batch-query: accepted there too (the
 * OpenAPI document says so of these paths). */
export const QUERY_ID_PATHS: ReadonlySet<string> = new Set(['/v1/instances/batch-query']);

/** The caller's valid request id, from the header or (on batch-query) the query string. */
function callerRequestId(raw: IncomingMessage): string | null {
  const header = raw.headers[REQUEST_ID_HEADER];
  if (isValidRequestId(header)) return header;
  const fromQuery = queryRequestId(raw);
  return isValidRequestId(fromQuery) ? fromQuery : null;
}

/** The x-request-id query parameter, valid or not, on the paths that take one (null: none). */
function queryRequestId(raw: IncomingMessage): string | null {
  const url = raw.url ?? '';
  const q = url.indexOf('?');
  if (q < 0 || !QUERY_ID_PATHS.has(url.slice(0, q))) return null;
  return new URLSearchParams(url.slice(q + 1)).get(REQUEST_ID_HEADER);
}

/** Fastify's genReqId: request.id is what every response echoes. */
export function genReqId(raw: IncomingMessage): string {
  return callerRequestId(raw) ?? newRequestId();
}

/** onRequest hook for tenant routes; runs before authentication. */
export async function requireRequestId(request: FastifyRequest): Promise<void> {
  if (callerRequestId(request.raw) === null) {
    const present = request.headers[REQUEST_ID_HEADER] !== undefined || queryRequestId(request.raw) !== null;
    throw new ApiError(present ? 'INVALID_REQUEST_ID' : 'MISSING_REQUEST_ID');
  }
}

/** onSend hook: every response, errors and 404s included, carries the id back. */
export async function echoRequestId(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  reply.header(REQUEST_ID_HEADER, request.id);
}
