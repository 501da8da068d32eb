// Errors a Store throws, with stable codes (recognised by code, never by message text).
//
// The rule for the whole interface: a read returns null when the thing is missing; a mutation
// that cannot proceed for a reason the caller caused throws a StoreError naming the ids at fault,
// and otherwise returns its result. Anything else a store throws is an internal failure.

export const StoreErrorCode = {
  /** a mutation names a tenant id that does not exist (addToken, revokeToken, createInstance, assignInstance) */
  NoTenant: 'NO_TENANT',
  /** a mutation names an instance id that is not live (assignInstance, deleteInstance) */
  NoInstance: 'NO_INSTANCE',
  /** createInstance(s): the instance id is already live (or, in a batch, repeats an earlier entry) */
  InstanceExists: 'INSTANCE_EXISTS',
  /** createTask: an instance is missing, deleted or not the tenant's (ownership changed after the API's check) */
  InstanceNotOwned: 'INSTANCE_NOT_OWNED',
  /** createTask: the tenant used the request id within the idempotency window for another body */
  IdempotencyConflict: 'IDEMPOTENCY_CONFLICT',
  /** createTask: the op names an artifact the tenant does not have (purged after the API's check) */
  NoArtifact: 'NO_ARTIFACT',
  /** listTasks, listAudit: the cursor was not produced by this store */
  InvalidCursor: 'INVALID_CURSOR',
  /** an argument outside its documented range (empty instance list, non-final result, ...) */
  InvalidArgument: 'INVALID_ARGUMENT',
  /** any call before open() or after close() */
  Closed: 'CLOSED',
} as const;
export type StoreErrorCode = (typeof StoreErrorCode)[keyof typeof StoreErrorCode];

export class StoreError extends Error {
  readonly code: StoreErrorCode;
  /** the tenant at fault (NoTenant), else null */
  readonly tenantId: string | null;
  /** the instances at fault (NoInstance: one; InstanceExists, InstanceNotOwned: each), else empty */
  readonly instanceIds: readonly string[];
  /** the artifact at fault (NoArtifact), else null */
  readonly artifactId: string | null;
  constructor(code: StoreErrorCode, message: string, about: { tenantId?: string; instanceIds?: readonly string[]; artifactId?: string } = {}) {
    super(message);
    this.name = 'StoreError';
    this.code = code;
    this.tenantId = about.tenantId ?? null;
    this.instanceIds = about.instanceIds ?? [];
    this.artifactId = about.artifactId ?? null;
  }
}

/** The errors with ids, worded once for every implementation. */
export const storeError = {
  noTenant: (tenantId: string) => new StoreError(StoreErrorCode.NoTenant, `tenant ${tenantId} does not exist`, { tenantId }),
  noInstance: (instanceId: string) =>
    new StoreError(StoreErrorCode.NoInstance, `instance ${instanceId} does not exist`, { instanceIds: [instanceId] }),
  instanceExists: (instanceId: string) =>
    new StoreError(StoreErrorCode.InstanceExists, `instance ${instanceId} already exists`, { instanceIds: [instanceId] }),
  instancesExist: (instanceIds: readonly string[]) =>
    new StoreError(StoreErrorCode.InstanceExists, `instances already exist: ${instanceIds.join(', ')}`, { instanceIds }),
  instanceNotOwned: (instanceIds: readonly string[]) =>
    new StoreError(StoreErrorCode.InstanceNotOwned, `instances missing or not the tenant's: ${instanceIds.join(', ')}`, { instanceIds }),
  idempotencyConflict: (requestId: string) =>
    new StoreError(StoreErrorCode.IdempotencyConflict, `request id ${requestId} was used for another request`),
  noArtifact: (artifactId: string) => new StoreError(StoreErrorCode.NoArtifact, `artifact ${artifactId} does not exist`, { artifactId }),
  closed: () => new StoreError(StoreErrorCode.Closed, 'store is not open'),
};
