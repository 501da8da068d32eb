// Errors a Store throws for caller mistakes, with stable codes (recognised by code, never by
// message text). Anything else a store throws is an internal failure.

export const StoreErrorCode = {
  /** createTask: an instance is missing, deleted or not the tenant's (ownership changed after the API's check) */
  InstanceNotOwned: 'INSTANCE_NOT_OWNED',
  /** createInstance: tenantId names no tenant */
  NoTenant: 'NO_TENANT',
  /** listTasks: the cursor was not produced by this store */
  InvalidCursor: 'INVALID_CURSOR',
  /** an argument outside its documented range (empty instance list, non-final result, ...) */
  InvalidArgument: 'INVALID_ARGUMENT',
} as const;
export type StoreErrorCode = (typeof StoreErrorCode)[keyof typeof StoreErrorCode];

export class StoreError extends Error {
  readonly code: StoreErrorCode;
  /** for InstanceNotOwned: the offending instance ids */
  readonly instanceIds: readonly string[];
  constructor(code: StoreErrorCode, message: string, instanceIds: readonly string[] = []) {
    super(message);
    this.name = 'StoreError';
    this.code = code;
    this.instanceIds = instanceIds;
  }
}
