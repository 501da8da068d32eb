// The audit log's recording side. A route whose config names an audit action
// (`config: { audit: 'command.submit' }`) has every request recorded once answered, refusals
// included (a 400, 401, 409 or 429 is what an auditor looks for); reads name none and are not
// recorded. Recorded in onResponse: the outcome is known and the answer has left, so the append,
// which joins the store's shared write batch of the next turn, adds nothing to the request's
// latency and no commit of its own.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ADMIN_ACTOR, LIMITS, tokenPrefixOf, type AuditAction } from '../core/index.js';
import type { AuditEntry, AuditTargets, Store } from '../store/index.js';
import { presentedCredential } from './auth.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** the action this route's requests are recorded as; absent: not recorded */
    audit?: AuditAction;
  }
  interface FastifyRequest {
    /** what the route learned that the request did not say (noteAudit) */
    auditNote: AuditNote | null;
  }
}

/** What a route adds to its entry: the task it created, the tenant it created, the token it issued. */
export interface AuditNote {
  taskId?: string;
  tenantId?: string;
  tokenPrefix?: string;
}

export function noteAudit(request: FastifyRequest, note: AuditNote): void {
  request.auditNote = { ...request.auditNote, ...note };
}

/** The onResponse hook. A failed append (the store closed or broken) is logged with the whole
 * entry, so the operator's logs still hold it. */
export function recordAudit(store: Store) {
  return async function record(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const action = request.routeOptions.config.audit;
    if (action === undefined) return;
    const entry = entryOf(request, reply.statusCode, action);
    store.appendAudit(entry).catch((err: unknown) => request.log.error({ err, audit: entry }, 'audit entry not stored'));
  };
}

function entryOf(request: FastifyRequest, status: number, action: AuditAction): AuditEntry {
  return {
    at: Date.now(),
    // Null when the credential was refused, or never checked (a request refused before it).
    actor: request.admin ? ADMIN_ACTOR : (request.principal?.tenantId ?? null),
    tokenPrefix: tokenPrefixOf(presentedCredential(request)),
    source: request.ip,
    requestId: request.id,
    action,
    targets: targetsOf(request),
    // Every error passes the error handler, which notes its code.
    outcome: { status, errorCode: request.errorCode ?? (status < 400 ? '0' : ''), taskId: request.auditNote?.taskId ?? null },
  };
}

type Fields = Readonly<Record<string, unknown>>;
const NONE: Fields = {};

function fieldsOf(value: unknown): Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Fields) : NONE;
}

/** A value taken from the request: ids of a valid one are short, a refused one may hold anything. */
function clip(value: unknown): string | undefined {
  return typeof value === 'string' ? value.slice(0, LIMITS.echoedIdChars) : undefined;
}

/** What the request named, as far as it was read: a request refused before its body was read
 * (401, 429, a missing request id) names only what its path does. */
function targetsOf(request: FastifyRequest): AuditTargets {
  const params = fieldsOf(request.params);
  const body = fieldsOf(request.body);
  const note = request.auditNote ?? {};
  const t: AuditTargets = {};
  const named = Array.isArray(body['instance_ids'])
    ? (body['instance_ids'] as unknown[])
    : Array.isArray(body['instances'])
      ? (body['instances'] as unknown[]).map((e) => fieldsOf(e)['instance_id'])
      : null;
  if (named !== null) {
    t.instanceIds = named.flatMap((id) => clip(id) ?? []).slice(0, LIMITS.auditTargetIds);
    if (named.length > t.instanceIds.length) t.instanceCount = named.length;
  }
  const instanceId = clip(params['instance_id']) ?? clip(body['instance_id']);
  if (instanceId !== undefined) t.instanceId = instanceId;
  const taskId = clip(params['task_id']);
  if (taskId !== undefined) t.taskId = taskId;
  // A body's tenant_id may be null: the instance is unassigned.
  const tenantId = clip(params['tenant_id']) ?? clip(body['tenant_id']) ?? note.tenantId;
  if (tenantId !== undefined) t.tenantId = tenantId;
  else if (body['tenant_id'] === null) t.tenantId = null;
  const tokenPrefix = clip(params['token_prefix']) ?? note.tokenPrefix;
  if (tokenPrefix !== undefined) t.tokenPrefix = tokenPrefix;
  return t;
}
