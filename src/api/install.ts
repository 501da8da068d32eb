// SPEC §10's app install before its task is written: the request's own rules, then the package,
// from the tenant's uploaded artifact or fetched once from install_package_url into the artifact
// directory (kept as the tenant's artifact), and what its manifest says. Every refusal is a 400
// naming the field, and nothing is queued.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { FetchError, fetchToBlob, readApkFile } from '../artifacts/index.js';
import { ApiError, ApkError, PACKAGE_NAME, type ApkInfo, type BlobRef, type TaskOp } from '../core/index.js';
import type { ApiDeps } from './deps.js';
import { requireArtifact } from './ownership.js';
import type { InstallRequest } from './schemas/index.js';

export type InstallOp = Extract<TaskOp, { kind: 'install' }>;

/** The content type an install package is kept with. */
export const APK_CONTENT_TYPE = 'application/vnd.android.package-archive';

/** Where the package comes from, and the checks asked of it, once the request's rules held. */
export interface InstallSource {
  from: { url: string; artifactId?: never } | { artifactId: string; url?: never };
  /** content_md5's 16 bytes, or null when not given */
  md5: Buffer | null;
  /** object_name, when given: the package name the caller expects */
  packageName: string | null;
}

const MD5_HEX = /^[0-9a-fA-F]{32}$/;
// RFC 1864's Content-MD5: 16 bytes in standard base64, padded.
const MD5_BASE64 = /^[A-Za-z0-9+/]{22}==$/;

/** The request's rules that its schema cannot say: exactly one of install_package_url and
 * artifact_id, the URL's scheme, content_md5's form. Throws the 400. */
export function installSource(body: InstallRequest): InstallSource {
  const url = body.install_package_url;
  const artifactId = body.artifact_id;
  if (url !== undefined && artifactId !== undefined) {
    throw new ApiError('INVALID_FIELD', { field: 'artifact_id', rule: 'give install_package_url or artifact_id, not both' });
  }
  if (url === undefined && artifactId === undefined) {
    throw new ApiError('INVALID_FIELD', { field: 'install_package_url', rule: 'is required (or artifact_id, an uploaded APK)' });
  }
  if (url !== undefined && !isHttpUrl(url)) {
    throw new ApiError('INVALID_FIELD', { field: 'install_package_url', rule: 'must be an http or https URL' });
  }
  return {
    from: url !== undefined ? { url } : { artifactId: artifactId as string },
    md5: parseMd5(body.content_md5 ?? ''),
    packageName: body.object_name === undefined || body.object_name === '' ? null : body.object_name,
  };
}

function isHttpUrl(raw: string): boolean {
  try {
    const u = new URL(raw);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}

/** content_md5 in hex or base64 (KooPhone does not say which; both are common): its 16 bytes. */
function parseMd5(raw: string): Buffer | null {
  if (raw === '') return null;
  if (MD5_HEX.test(raw)) return Buffer.from(raw, 'hex');
  if (MD5_BASE64.test(raw)) return Buffer.from(raw, 'base64');
  throw new ApiError('INVALID_FIELD', { field: 'content_md5', rule: 'must be an MD5 digest: 32 hex digits or 24 characters of base64' });
}

/** The normalized content_md5 (lowercase hex) an idempotent retry is compared by. */
export function md5Hex(source: InstallSource): string | null {
  return source.md5 === null ? null : source.md5.toString('hex');
}

/** The package the task will install: the tenant's artifact, or the URL fetched now. The
 * instances were checked to be the caller's before: nothing is fetched for a refused request. A
 * fetched file becomes the tenant's artifact only once it passed every check (a refused one no row
 * names, and the retention sweep removes it). */
export async function installOp(deps: ApiDeps, tenantKey: number, source: InstallSource): Promise<InstallOp> {
  const { url, artifactId } = source.from;
  const uploaded = artifactId === undefined ? null : await requireArtifact(deps.store, tenantKey, artifactId);
  const blob: BlobRef = uploaded ?? (await fetchPackage(deps, url as string));
  const apk = await readPackage(deps, blob, uploaded === null ? 'install_package_url' : 'artifact_id');
  if (source.md5 !== null) await checkMd5(deps, blob, source.md5);
  if (source.packageName !== null && source.packageName !== apk.packageName) {
    throw new ApiError('PACKAGE_NAME_MISMATCH', { given: source.packageName, actual: apk.packageName });
  }
  let artifact = uploaded;
  if (artifact === null) {
    const row = await deps.store.putArtifact(tenantKey, { ...blob, contentType: APK_CONTENT_TYPE }, Date.now());
    artifact = { artifactId: row.artifactId, sha256: row.sha256, size: row.size };
  }
  return { kind: 'install', artifact, packageName: apk.packageName, versionCode: apk.versionCode, versionName: apk.versionName };
}

/** install_package_url, fetched into the artifact directory (the allow-list, the size limit and
 * the timeout are the fetcher's to hold). */
async function fetchPackage(deps: ApiDeps, url: string): Promise<BlobRef> {
  const { urlAllowlist, urlFetchTimeoutMs, artifactMaxBytes } = deps.config;
  if (urlAllowlist.length === 0) throw new ApiError('URL_FETCH_DISABLED');
  try {
    return await fetchToBlob(url, { allowlist: urlAllowlist, timeoutMs: urlFetchTimeoutMs, maxBytes: artifactMaxBytes }, deps.blobs);
  } catch (err) {
    if (err instanceof FetchError) throw new ApiError('PACKAGE_FETCH_FAILED', { reason: err.message });
    throw err;
  }
}

/** The package's manifest; a file that is not an APK, or names no valid package, is a 400. */
async function readPackage(deps: ApiDeps, blob: BlobRef, field: string): Promise<ApkInfo> {
  let apk: ApkInfo;
  try {
    apk = await readApkFile(deps.blobs.pathOf(blob.sha256));
  } catch (err) {
    if (err instanceof ApkError) throw new ApiError('NOT_AN_APK', { field, reason: err.message });
    throw err;
  }
  if (!PACKAGE_NAME.test(apk.packageName)) {
    throw new ApiError('NOT_AN_APK', { field, reason: `its manifest's package name "${apk.packageName.slice(0, 100)}" is not a valid package name` });
  }
  return apk;
}

async function checkMd5(deps: ApiDeps, blob: BlobRef, expected: Buffer): Promise<void> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(deps.blobs.pathOf(blob.sha256), { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
  }
  const actual = hash.digest();
  if (!actual.equals(expected)) throw new ApiError('CONTENT_MD5_MISMATCH', { md5: actual.toString('hex') });
}
