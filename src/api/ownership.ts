// SPEC §2/§3: every instance named must be the caller's. Missing and foreign look the same.
import { ApiError } from '../core/index.js';
import type { InstanceTarget, Store } from '../store/index.js';

/** 400 KOOPHONE.API.1001 naming the ids, the same words whether missing or another tenant's. */
export function instancesNotFound(ids: readonly string[]): ApiError {
  return new ApiError('INSTANCE_NOT_FOUND', `instance_ids: these instances do not exist or are not yours: ${ids.join(', ')}`);
}

/** The caller's instances in request order, or 400 KOOPHONE.API.1001 naming the others. */
export async function requireOwned(
  store: Store,
  tenantKey: number,
  instanceIds: readonly string[],
): Promise<InstanceTarget[]> {
  const owned = await store.ownedInstances(tenantKey, instanceIds);
  const byId = new Map(owned.map((t) => [t.instanceId, t]));
  const missing = instanceIds.filter((id) => !byId.has(id));
  if (missing.length > 0) throw instancesNotFound(missing);
  return instanceIds.map((id) => byId.get(id) as InstanceTarget);
}
