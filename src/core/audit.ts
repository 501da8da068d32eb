// The audit log's vocabulary: what an entry says was done. Each state-changing route names its
// action (src/api/audit.ts records them); the admin API filters by these names. A new action is
// appended here: the store keeps the name as text, without a CHECK, so adding one needs no
// migration.
export const AUDIT_ACTIONS = [
  'command.submit',
  'command.sync',
  'task.cancel',
  'instance.reboot',
  'tenant.create',
  'token.issue',
  'token.revoke',
  'instance.create',
  'instance.bulk',
  'instance.assign',
  'instance.delete',
  'artifact.upload',
  'app.install',
  'app.uninstall',
  'files.push',
  'files.pull',
  'screenshot',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export function isAuditAction(value: unknown): value is AuditAction {
  return typeof value === 'string' && (AUDIT_ACTIONS as readonly string[]).includes(value);
}

/** The actor of an entry made with the operator's admin token (otherwise a tenant's public id). */
export const ADMIN_ACTOR = 'admin';
