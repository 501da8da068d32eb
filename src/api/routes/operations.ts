// SPEC §10: device operations, each a task of jobs exactly like async-command's (the same queue,
// timeouts, cancel, events, idempotency). KooPhone's app install, and the extensions: uninstall,
// file push and pull, screenshot.
//
// Order of checks, as async-command's (docs/API.md): field rules, then the idempotent replay,
// then ownership, then what the request names (the artifact, the package URL). Uninstall, pull
// and screenshot leave the replay and ownership to createTask's transaction; install and push
// look up the replay first (store.findRequest), as their next steps cost more (fetching a
// package) or may refuse what a retry of an accepted request must not be refused for (an artifact
// purged since).
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError, devicePathProblem, PATTERN_MESSAGES, type TaskOp } from '../../core/index.js';
import { StoreError, StoreErrorCode, type CreatedTask } from '../../store/index.js';
import type { OpInput, OpRequest } from '../../tasks/index.js';
import { noteAudit } from '../audit.js';
import { principalOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { installOp, installSource, md5Hex, type InstallOp } from '../install.js';
import { requireArtifact, requireOwned } from '../ownership.js';
import { APP_INSTALL, APP_UNINSTALL, FILES_PULL, FILES_PUSH, SCREENSHOT, type InstalledPackageJson } from '../schemas/index.js';
import { createdTaskJson, ok } from '../views.js';

export const OPERATION_ROUTES = {
  install: '/v1/instances/app/install',
  uninstall: '/v1/instances/app/uninstall',
  push: '/v1/instances/files/push',
  pull: '/v1/instances/files/pull',
  screenshot: '/v1/instances/screenshot',
} as const;

function packageJson(op: InstallOp): InstalledPackageJson {
  return { name: op.packageName, version_code: op.versionCode, version_name: op.versionName, sha256: op.artifact.sha256, size: op.artifact.size };
}

const OCTAL_MODE = /^[0-7]{3,4}$/;
const MAX_MODE = 0o7777;

/** push's mode as permission bits: "0644" (octal digits) or 420 (the bits). */
function fileMode(mode: string | number): number {
  if (typeof mode === 'number' && mode >= 0 && mode <= MAX_MODE) return mode;
  if (typeof mode === 'string' && OCTAL_MODE.test(mode)) return parseInt(mode, 8);
  throw new ApiError('INVALID_FIELD', { field: 'mode', rule: PATTERN_MESSAGES['mode']! });
}

function requirePath(path: string): void {
  const problem = devicePathProblem(path);
  if (problem !== null) throw new ApiError('INVALID_FIELD', { field: 'path', rule: problem });
}

/** createTask's ownership refusal of an install (an instance unassigned since the route's check)
 * names the list by KooPhone's name for it, instance_id_list. */
async function asInstanceList<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (err instanceof StoreError && err.code === StoreErrorCode.InstanceNotOwned) throw new ApiError('INSTANCE_LIST_NOT_FOUND', { ids: err.instanceIds });
    throw err;
  }
}

export async function operationRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { store, tasks, metrics } = deps;
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  /** Submits the op's task for the request (idempotent on its x-request-id), and records it. */
  async function submit(request: FastifyRequest, route: string, input: OpInput, body: unknown): Promise<CreatedTask> {
    const principal = principalOf(request);
    const created = await tasks.submitOp(principal.tenantKey, input, { requestId: request.id, body });
    noted(request, route, created);
    return created;
  }

  /** The audit note and the submitted count (an idempotent replay created nothing). */
  function noted(request: FastifyRequest, route: string, created: CreatedTask): void {
    noteAudit(request, { taskId: created.taskId, replayed: created.replayed });
    if (!created.replayed) metrics?.submitted(route, principalOf(request).tenantId);
  }

  /** The op of a task a replay answers with (its answer shows what the op holds). */
  async function opOf(tenantKey: number, created: CreatedTask): Promise<TaskOp> {
    const task = await store.getTask(tenantKey, created.taskId);
    // The request id's task is the one just found, kept for days past the idempotency window.
    if (task?.op == null) throw new Error(`task ${created.taskId} of a replayed operation has no op`);
    return task.op;
  }

  api.post(OPERATION_ROUTES.install, { schema: APP_INSTALL, config: { audit: 'app.install' } }, async (request) => {
    const { tenantKey } = principalOf(request);
    const body = request.body;
    const source = installSource(body);
    // What "the same request" compares: every field the route knows, absent ones as null, and
    // content_md5 as hex (so its hex and base64 forms are one request).
    const idem: OpRequest = {
      requestId: request.id,
      body: {
        install_package_url: body.install_package_url ?? null,
        artifact_id: body.artifact_id ?? null,
        instance_id_list: body.instance_id_list,
        file_name: body.file_name ?? null,
        object_name: source.packageName,
        object_version: body.object_version ?? null,
        object_size: body.object_size ?? null,
        biz_type: body.biz_type ?? null,
        content_type: body.content_type ?? null,
        content_md5: md5Hex(source),
        fast_install: body.fast_install ?? null,
        timeout_seconds: body.timeout_seconds,
      },
    };
    const answer = async (created: CreatedTask, op: TaskOp) => {
      noted(request, OPERATION_ROUTES.install, created);
      if (op.kind !== 'install') throw new Error(`task ${created.taskId} of an install request holds a ${op.kind}`);
      return ok({ ...createdTaskJson(created), artifact_id: op.artifact.artifactId, package: packageJson(op) });
    };

    const earlier = await tasks.findReplay(tenantKey, 'install', idem);
    if (earlier !== null) return answer(earlier, await opOf(tenantKey, earlier));
    await requireOwned(store, tenantKey, body.instance_id_list, 'INSTANCE_LIST_NOT_FOUND');
    const op = await installOp(deps, tenantKey, source);
    const input: OpInput = { op, instanceIds: body.instance_id_list, timeoutMs: body.timeout_seconds * 1000 };
    const created = await asInstanceList(tasks.submitOp(tenantKey, input, idem));
    // A concurrent request of the same id got there first: its task is the answer, and this fetch was for nothing.
    return answer(created, created.replayed ? await opOf(tenantKey, created) : op);
  });

  api.post(OPERATION_ROUTES.uninstall, { schema: APP_UNINSTALL, config: { audit: 'app.uninstall' } }, async (request) => {
    const { package_name, instance_ids, timeout_seconds } = request.body;
    const op: TaskOp = { kind: 'uninstall', packageName: package_name };
    const created = await submit(request, OPERATION_ROUTES.uninstall, { op, instanceIds: instance_ids, timeoutMs: timeout_seconds * 1000 }, {
      package_name,
      instance_ids,
      timeout_seconds,
    });
    return ok(createdTaskJson(created));
  });

  api.post(OPERATION_ROUTES.push, { schema: FILES_PUSH, config: { audit: 'files.push' } }, async (request) => {
    const { tenantKey } = principalOf(request);
    const { artifact_id: artifactId, path, instance_ids, mode, timeout_seconds } = request.body;
    requirePath(path);
    const bits = fileMode(mode);
    const idem: OpRequest = { requestId: request.id, body: { artifact_id: artifactId, path, instance_ids, mode: bits, timeout_seconds } };
    const earlier = await tasks.findReplay(tenantKey, 'push', idem);
    if (earlier !== null) {
      noted(request, OPERATION_ROUTES.push, earlier);
      return ok(createdTaskJson(earlier));
    }
    await requireOwned(store, tenantKey, instance_ids);
    const artifact = await requireArtifact(store, tenantKey, artifactId);
    const op: TaskOp = { kind: 'push', artifact, path, mode: bits };
    const input: OpInput = { op, instanceIds: instance_ids, timeoutMs: timeout_seconds * 1000 };
    return ok(createdTaskJson(await submit(request, OPERATION_ROUTES.push, input, idem.body)));
  });

  api.post(OPERATION_ROUTES.pull, { schema: FILES_PULL, config: { audit: 'files.pull' } }, async (request) => {
    const { path, instance_ids, timeout_seconds } = request.body;
    requirePath(path);
    const op: TaskOp = { kind: 'pull', path };
    const created = await submit(request, OPERATION_ROUTES.pull, { op, instanceIds: instance_ids, timeoutMs: timeout_seconds * 1000 }, {
      path,
      instance_ids,
      timeout_seconds,
    });
    return ok(createdTaskJson(created));
  });

  api.post(OPERATION_ROUTES.screenshot, { schema: SCREENSHOT, config: { audit: 'screenshot' } }, async (request) => {
    const { instance_ids, timeout_seconds } = request.body;
    const op: TaskOp = { kind: 'screenshot' };
    const created = await submit(request, OPERATION_ROUTES.screenshot, { op, instanceIds: instance_ids, timeoutMs: timeout_seconds * 1000 }, {
      instance_ids,
      timeout_seconds,
    });
    return ok(createdTaskJson(created));
  });
}
