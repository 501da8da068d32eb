// SPEC §2/§3: every instance named must be the caller's. Missing and foreign look the same; so
// for an uploaded artifact (SPEC §10).
import { ApiError, HEX_ID, type ArtifactUse } from '../core/index.js';
import type { InstanceTarget, Store } from '../store/index.js';

/** The caller's instances in request order, or 400 KOOPHONE.API.1001 naming the others (the same
 * words whether missing or another tenant's); `error` names the request's field (KooPhone's app
 * install calls its list instance_id_list). */
export async function requireOwned(
  store: Store,
  tenantKey: number,
  instanceIds: readonly string[],
  error: 'INSTANCE_NOT_FOUND' | 'INSTANCE_LIST_NOT_FOUND' = 'INSTANCE_NOT_FOUND',
): Promise<InstanceTarget[]> {
  const owned = await store.ownedInstances(tenantKey, instanceIds);
  const byId = new Map(owned.map((t) => [t.instanceId, t]));
  const missing = instanceIds.filter((id) => !byId.has(id));
  if (missing.length > 0) throw new ApiError(error, { ids: missing });
  return instanceIds.map((id) => byId.get(id) as InstanceTarget);
}

/** The caller's uploaded artifact of this id, as a task names it, or 400 NO_SUCH_ARTIFACT (also
 * for an id that could be no artifact's, read no further). */
export async function requireArtifact(store: Store, tenantKey: number, artifactId: string): Promise<ArtifactUse> {
  const found = HEX_ID.test(artifactId) ? await store.getArtifact(tenantKey, artifactId) : null;
  if (found === null) throw new ApiError('NO_SUCH_ARTIFACT', { artifactId });
  return { artifactId: found.artifactId, sha256: found.sha256, size: found.size };
}
