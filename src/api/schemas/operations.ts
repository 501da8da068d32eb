// SPEC §10: device operations. KooPhone's app install (its field names and types: every
// KooPhone field is a string), and the extensions: uninstall, file push and pull, screenshot.
// Each answers as async-command does (task_id, cmd_jobs); install adds what it is installing.
import { Type, type Static } from '@sinclair/typebox';
import { LIMITS, PACKAGE_NAME } from '../../core/index.js';
import { AsyncCommandReply, InstanceIds, SubmittedTask } from './commands.js';
import { ERROR_REPLIES, NullableInteger, NullableString, Ok } from './common.js';

const { min, max, default: fallback } = LIMITS.asyncTimeoutSeconds;
const TimeoutSeconds = Type.Integer({ minimum: min, maximum: max, default: fallback });

/** KooPhone's limit on its descriptive install fields (file_name, object_name, object_version). */
const KOOPHONE_NAME_CHARS = 100;

/** An optional field that has a default: Ajv fills it (useDefaults), so it is always there for
 * the handler, yet not required on the wire. */
function withDefaults<T extends ReturnType<typeof Type.Object>>(body: T, required: string[]): T {
  return Object.assign(body, { required });
}

export const InstallBody = withDefaults(
  Type.Object({
    install_package_url: Type.Optional(Type.String({ minLength: 1, maxLength: LIMITS.packageUrlChars })),
    /** extension: an uploaded APK instead of a URL */
    artifact_id: Type.Optional(Type.String()),
    instance_id_list: InstanceIds,
    file_name: Type.Optional(Type.String({ maxLength: KOOPHONE_NAME_CHARS })),
    /** KooPhone: the package name once installed; checked against the APK's when given */
    object_name: Type.Optional(Type.String({ maxLength: KOOPHONE_NAME_CHARS })),
    object_version: Type.Optional(Type.String({ maxLength: KOOPHONE_NAME_CHARS })),
    /** KooPhone: the size in MB, a string; informational */
    object_size: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Number({ minimum: 0 })])),
    biz_type: Type.Optional(Type.Unsafe<'apk'>({ type: 'string', enum: ['apk'] })),
    /** KooPhone's transfer type; informational */
    content_type: Type.Optional(Type.String({ maxLength: 64 })),
    /** the APK's MD5: 32 hex digits or 24 characters of base64; "" is none */
    content_md5: Type.Optional(Type.String({ maxLength: 200 })),
    /** KooPhone: "0" normal install, "1" fast install (both run pm install -r here) */
    fast_install: Type.Optional(Type.Unsafe<'0' | '1'>({ type: 'string', enum: ['0', '1'] })),
    timeout_seconds: TimeoutSeconds,
  }),
  ['instance_id_list'],
);
export type InstallRequest = Static<typeof InstallBody>;

export const UninstallBody = withDefaults(
  Type.Object({
    package_name: Type.String({ minLength: 1, maxLength: LIMITS.packageNameChars, pattern: PACKAGE_NAME.source }),
    instance_ids: InstanceIds,
    timeout_seconds: TimeoutSeconds,
  }),
  ['package_name', 'instance_ids'],
);
export type UninstallRequest = Static<typeof UninstallBody>;

/** A file mode: octal digits in a string ("0644"), or the permission bits as an integer (420, what
 * a client's 0o644 becomes in JSON, as Kubernetes takes modes). The route checks either form
 * (fileMode in routes/operations.ts) so its message names both. */
export const DEFAULT_FILE_MODE = '0644';

export const PushBody = withDefaults(
  Type.Object({
    artifact_id: Type.String(),
    // The rule is devicePathProblem's (core/operations.ts), checked by the route for its words.
    path: Type.String(),
    instance_ids: InstanceIds,
    mode: Type.Union([Type.String(), Type.Integer()], { default: DEFAULT_FILE_MODE }),
    timeout_seconds: TimeoutSeconds,
  }),
  ['artifact_id', 'path', 'instance_ids'],
);
export type PushRequest = Static<typeof PushBody>;

export const PullBody = withDefaults(
  Type.Object({ path: Type.String(), instance_ids: InstanceIds, timeout_seconds: TimeoutSeconds }),
  ['path', 'instance_ids'],
);
export type PullRequest = Static<typeof PullBody>;

export const ScreenshotBody = withDefaults(
  Type.Object({ instance_ids: InstanceIds, timeout_seconds: TimeoutSeconds }),
  ['instance_ids'],
);
export type ScreenshotRequest = Static<typeof ScreenshotBody>;

/** What an install task installs, as the APK's manifest and the artifact say. */
export const InstalledPackage = Type.Object(
  {
    name: Type.String(),
    version_code: NullableInteger(),
    version_name: NullableString(),
    sha256: Type.String(),
    size: Type.Integer(),
  },
  { title: 'InstalledPackage' },
);
export type InstalledPackageJson = Static<typeof InstalledPackage>;

export const InstallReply = Ok(
  Type.Object({
    ...SubmittedTask.properties,
    artifact_id: Type.String(),
    package: InstalledPackage,
  }),
);

export const APP_INSTALL = { body: InstallBody, response: { 200: InstallReply, ...ERROR_REPLIES } } as const;
export const APP_UNINSTALL = { body: UninstallBody, response: { 200: AsyncCommandReply, ...ERROR_REPLIES } } as const;
export const FILES_PUSH = { body: PushBody, response: { 200: AsyncCommandReply, ...ERROR_REPLIES } } as const;
export const FILES_PULL = { body: PullBody, response: { 200: AsyncCommandReply, ...ERROR_REPLIES } } as const;
export const SCREENSHOT = { body: ScreenshotBody, response: { 200: AsyncCommandReply, ...ERROR_REPLIES } } as const;
