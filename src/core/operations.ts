// Device operations (SPEC §10): what a task runs on each of its instances when it is not a shell
// command. A task is one operation; its jobs run it instance by instance with the same queue,
// timeouts, cancel and at-most-once rule as commands. The store keeps the operation with the task
// (JSON); the worker reads it back with each queued job.
import { randomBytes } from 'node:crypto';
import { newHexId } from './ids.js';
import { LIMITS } from './limits.js';

/** A file the service holds (an upload, a fetched package), named by its content. */
export interface BlobRef {
  /** lowercase hex SHA-256 of the bytes: where the file is in the artifact directory */
  sha256: string;
  size: number;
}

/** An uploaded artifact a task uses, as the task keeps it. */
export interface ArtifactUse extends BlobRef {
  /** the tenant's artifact (its row keeps the file while a task names it) */
  artifactId: string;
}

export type TaskOp =
  | {
      kind: 'install';
      /** the APK: an uploaded artifact, or the one fetched from install_package_url for this task */
      artifact: ArtifactUse;
      /** read out of the APK's manifest when the task was accepted */
      packageName: string;
      versionCode: number | null;
      versionName: string | null;
    }
  | { kind: 'uninstall'; packageName: string }
  | { kind: 'push'; artifact: ArtifactUse; path: string; /** permission bits, e.g. 0o644 */ mode: number }
  | { kind: 'pull'; path: string }
  | { kind: 'screenshot' };

export type OpKind = TaskOp['kind'];
export const OP_KINDS: readonly OpKind[] = ['install', 'uninstall', 'push', 'pull', 'screenshot'];

/** What a task's `command` says for an operation (the task list shows it; no shell runs it). */
export function describeOp(op: TaskOp): string {
  switch (op.kind) {
    case 'install':
      return `install ${op.packageName}${op.versionName !== null ? ` ${op.versionName}` : ''}`;
    case 'uninstall':
      return `uninstall ${op.packageName}`;
    case 'push':
      return `push ${op.path}`;
    case 'pull':
      return `pull ${op.path}`;
    case 'screenshot':
      return 'screenshot';
  }
}

/** The content type of what a job produces: a screenshot is a PNG, a pulled file is opaque bytes. */
export function jobArtifactType(op: TaskOp): string {
  return op.kind === 'screenshot' ? 'image/png' : 'application/octet-stream';
}

/** KooPhone's install task ids: "ZGCA" and 28 lowercase hex characters (112 random bits). */
export const INSTALL_TASK_PREFIX = 'ZGCA';
export function newInstallTaskId(): string {
  return INSTALL_TASK_PREFIX + randomBytes(14).toString('hex');
}
/** A new task's id: an install's is KooPhone's ZGCA form, every other task's 32 hex. */
export function newTaskId(op: TaskOp | null | undefined): string {
  return op?.kind === 'install' ? newInstallTaskId() : newHexId();
}

/** Every task id the API hands out: a command's (32 hex) or an install's. */
export const TASK_ID = /^(?:[0-9a-f]{32}|ZGCA[0-9a-f]{28})$/;

/** An Android package name (as `pm` and the manifest accept it). */
export const PACKAGE_NAME = /^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$/;

/** Why `path` is not a device path SPEC §10 accepts, or null: absolute, no `..` segment, no NUL,
 * at most 1024 bytes. */
export function devicePathProblem(path: string): string | null {
  if (path.length === 0) return 'must not be empty';
  if (Buffer.byteLength(path, 'utf8') > LIMITS.devicePathBytes) return `must be at most ${LIMITS.devicePathBytes} bytes`;
  if (!path.startsWith('/')) return 'must be an absolute path (start with /)';
  if (path.includes('\0')) return 'must not contain NUL';
  if (path.split('/').includes('..')) return 'must not contain a .. segment';
  return null;
}
