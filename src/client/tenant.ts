// The tenant API (KooPhone's instance API and adbfleet's task extensions), one method a route.
import { AdbfleetError } from './errors.js';
import { Transport, type Call, type ClientOptions } from './http.js';
import { operationsClient, type OperationsClient } from './operations.js';
import { readSse, SseIdleError } from './sse.js';
import type {
  CommandRequest,
  InstancePage,
  InstanceQuery,
  InstanceRow,
  InstanceStatusRow,
  Job,
  JobOutput,
  RunCommandResult,
  SyncCommandRequest,
  SyncCommandResult,
  TaskJobs,
  TaskListQuery,
  TaskPage,
} from './types.js';

/** The task routes, the instances, and the device operations (OperationsClient). */
export interface TenantClient extends OperationsClient {
  /** POST async-command; a retry with the same requestId gets the first answer (SPEC §3). */
  runCommand(req: CommandRequest, opts?: { requestId?: string }): Promise<RunCommandResult>;
  syncCommand(req: SyncCommandRequest): Promise<SyncCommandResult>;
  getTask(taskId: string): Promise<TaskJobs>;
  listTasks(q?: TaskListQuery): Promise<TaskPage>;
  getJobOutput(taskId: string, jobId: string): Promise<JobOutput>;
  cancelTask(taskId: string): Promise<TaskJobs>;
  /** SSE: yields each `job` event's job (states only advance), returns when `done` arrives;
   * aborting the signal ends it. Uses fetch streaming (works in Node 20 and browsers). A stream
   * silent for idleMs (default 45 s: three of the service's 15 s heartbeats) throws AdbfleetError
   * with status 0, as a lost connection: a dead peer whose FIN never came does not hang the caller. */
  taskEvents(taskId: string, opts?: { signal?: AbortSignal; idleMs?: number }): AsyncGenerator<Job, void>;
  listInstances(q?: InstanceQuery): Promise<InstancePage>;
  /** every page of listInstances, in order */
  allInstances(): Promise<InstanceRow[]>;
  instanceStatus(instanceIds: string[]): Promise<InstanceStatusRow[]>;
  reboot(instanceIds: string[]): Promise<void>;
}

/** The largest page batch-query gives (docs/API.md, limits). */
const MAX_PAGE_SIZE = 100;

/** Three missed heartbeats of the service's default 15 s (API.md, the events route). */
const EVENTS_IDLE_MS = 45_000;

const task = (taskId: string): string => `/v1/instances/tasks/${encodeURIComponent(taskId)}`;

export function createClient(opts: ClientOptions): TenantClient {
  const t = new Transport(opts, { 'x-auth-token': opts.token });
  /** The `data` of a 200 envelope. */
  const data = async <T>(call: Call): Promise<T> => ((await t.json(call)) as { data: T }).data;

  const listInstances = (q: InstanceQuery = {}): Promise<InstancePage> => data({ method: 'GET', path: '/v1/instances/batch-query', query: q });

  async function* taskEvents(taskId: string, o: { signal?: AbortSignal; idleMs?: number } = {}): AsyncGenerator<Job, void> {
    const { signal, idleMs = EVENTS_IDLE_MS } = o;
    const path = `${task(taskId)}/events`;
    try {
      const { response, requestId } = await t.send({ method: 'GET', path, accept: 'text/event-stream', ...(signal === undefined ? {} : { signal }) });
      if (response.body === null) throw new AdbfleetError(`GET ${path}: the answer has no body`, { status: response.status, code: '', requestId, body: undefined });
      try {
        for await (const ev of readSse(response.body, idleMs)) {
          if (ev.event === 'job') yield JSON.parse(ev.data) as Job;
          else if (ev.event === 'done') return;
        }
      } catch (err) {
        if (!(err instanceof SseIdleError)) throw err;
        throw new AdbfleetError(`GET ${path}: ${err.message}`, { status: 0, code: '', requestId, body: undefined, cause: err });
      }
      if (signal?.aborted === true) return;
      throw new AdbfleetError(`GET ${path}: the stream ended before its done event`, { status: response.status, code: '', requestId, body: undefined });
    } catch (err) {
      // Aborting is how a caller stops following: not an error.
      if (signal?.aborted === true) return;
      throw err;
    }
  }

  return {
    runCommand: (req, o = {}) =>
      data({ method: 'POST', path: '/v1/instances/async-command', body: req, idempotent: true, ...(o.requestId === undefined ? {} : { requestId: o.requestId }) }),
    syncCommand: (req) => data({ method: 'POST', path: '/v1/instances/sync-command', body: req }),
    getTask: (taskId) => data({ method: 'GET', path: task(taskId) }),
    listTasks: (q = {}) => data({ method: 'GET', path: '/v1/instances/tasks', query: q }),
    getJobOutput: (taskId, jobId) => data({ method: 'GET', path: `${task(taskId)}/jobs/${encodeURIComponent(jobId)}/output` }),
    cancelTask: (taskId) => data({ method: 'POST', path: `${task(taskId)}/cancel` }),
    taskEvents,
    ...operationsClient(t, data, task),
    listInstances,
    async allInstances() {
      const all: InstanceRow[] = [];
      for (let pageNo = 1; ; pageNo++) {
        const page = await listInstances({ page_no: pageNo, page_size: MAX_PAGE_SIZE });
        all.push(...page.result);
        if (page.result.length === 0 || all.length >= page.total_count) return all;
      }
    },
    async instanceStatus(instanceIds) {
      const d = await data<{ status_results: InstanceStatusRow[] }>({ method: 'POST', path: '/v1/instances/batch-query-status', body: { instance_ids: instanceIds } });
      return d.status_results;
    },
    async reboot(instanceIds) {
      await t.json({ method: 'POST', path: '/v1/instances/reboot', body: { instance_ids: instanceIds } });
    },
  };
}
