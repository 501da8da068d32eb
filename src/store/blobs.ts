// What both stores check of a file a row is to name (an upload, a job's artifact) before writing
// it: a bad one is the caller's mistake (INVALID_ARGUMENT, naming the field), not a CHECK
// constraint's failure that would read as the store's.
import { StoreError, StoreErrorCode } from './errors.js';

const SHA256 = /^[0-9a-f]{64}$/;

export function checkFile(what: string, file: { sha256: string; size: number; contentType: string }): void {
  const problem = !SHA256.test(file.sha256)
    ? `sha256 ${JSON.stringify(file.sha256)} is not 64 lowercase hex characters`
    : !Number.isSafeInteger(file.size) || file.size < 0
      ? `size ${file.size} is not a non-negative integer`
      : file.contentType === ''
        ? 'contentType is empty'
        : null;
  if (problem !== null) throw new StoreError(StoreErrorCode.InvalidArgument, `${what}: ${problem}`);
}

/** Of a task's operation, the uploaded artifact it names, if any (install, push). */
export function artifactIdOf(op: { kind: string; artifact?: { artifactId: string } } | undefined): string | null {
  return op?.artifact?.artifactId ?? null;
}
