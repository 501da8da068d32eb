// The audit log's recording side. A route whose config names an audit action
// (`config: { audit: 'command.submit' }`) has every request recorded once answered, refusals
// included (a 400, 401, 409 or 429 is what an auditor looks for); reads name none and are not
// recorded. The entry is made when the response closes: the outcome is known and the answer has
// left, so the append, which joins the store's shared write batch of the next turn, adds nothing
// to the request's latency and no commit of its own. Not in onResponse: Fastify runs that only
// when the answer was written whole, and a client that hangs up while its request is handled
// (a sync-command that runs for minutes) still had its task created, or its instances rebooted.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ADMIN_ACTOR, LIMITS, TOKEN_PREFIX_CHARS, tokenPrefixOf, type AuditAction } from '../core/index.js';
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
  /** an idempotent replay answered the earlier task: nothing new was created */
  replayed?: boolean;
  tenantId?: string;
  tokenPrefix?: string;
}

export function noteAudit(request: FastifyRequest, note: AuditNote): void {
  request.auditNote = { ...request.auditNote, ...note };
}

/** The onSend hook, which runs once per answer (an error's included) when its outcome is known:
 * the entry is appended when the response closes, or at once if the client has already gone. A
 * failed append (the store closed or broken) is logged with the whole entry, so the operator's
 * logs still hold it. */
export function recordAudit(store: Store) {
  const armed = new WeakSet<FastifyRequest>();
  return function record(request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: null, payload: unknown) => void): void {
    const action = request.routeOptions.config.audit;
    // A failing onSend hook has the error answered, and the hooks run again: one entry still.
    if (action !== undefined && !armed.has(request)) {
      armed.add(request);
      const append = (): void => {
        const entry = entryOf(request, reply.statusCode, action);
        store.appendAudit(entry).catch((err: unknown) => request.log.error({ err, audit: entry }, 'audit entry not stored'));
      };
      if (reply.raw.closed) append();
      else reply.raw.once('close', append);
    }
    done(null, payload);
  };
}

function entryOf(request: FastifyRequest, status: number, action: AuditAction): AuditEntry {
  return {
    at: Date.now(),
    // Null when the credential was refused, or never checked (a request refused before it).
    actor: request.admin ? ADMIN_ACTOR : (request.principal?.tenantId ?? null),
    // The admin token names no prefix even if an operator chose one shaped like a tenant token.
    tokenPrefix: request.admin ? null : tokenPrefixOf(presentedCredential(request)),
    source: request.ip,
    requestId: request.id,
    action,
    targets: targetsOf(request),
    // Every error passes the error handler, which notes its code.
    outcome: {
      status,
      errorCode: request.errorCode ?? (status < 400 ? '0' : ''),
      taskId: request.auditNote?.taskId ?? null,
      replayed: request.auditNote?.replayed === true,
    },
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
  // KooPhone's app install names its instances instance_id_list.
  const list = body['instance_ids'] ?? body['instance_id_list'];
  const named = Array.isArray(list)
    ? (list as unknown[])
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
  // A revoke names a prefix; a whole token pasted in its place is kept only as far as a prefix.
  const tokenPrefix = clip(params['token_prefix'])?.slice(0, TOKEN_PREFIX_CHARS) ?? note.tokenPrefix;
  if (tokenPrefix !== undefined) t.tokenPrefix = tokenPrefix;
  return t;
}
