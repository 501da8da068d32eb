// SPEC §7: a task's job state changes as Server-Sent Events. Subscribe first, then read the
// store, so no change falls between the snapshot and the live feed; per job only states that
// advance (queued < running < final) are sent, so the stream has no duplicates and no reversals.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { ApiError, HEX_ID, isFinal, LIMITS, type JobState } from '../../core/index.js';
import type { JobView, TaskView } from '../../store/index.js';
import { principalOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { REQUEST_ID_HEADER } from '../request-id.js';
import { EVENTS } from '../schemas/index.js';
import type { TaskWatch } from '../task-watch.js';
import { jobJson } from '../views.js';

function rank(state: JobState): number {
  if (state === 'queued') return 0;
  if (state === 'running') return 1;
  return 2;
}

export async function eventRoutes(app: FastifyInstance, deps: ApiDeps, watch: TaskWatch): Promise<void> {
  const { store, dispatcher } = deps;
  const heartbeatMs = deps.sseHeartbeatMs ?? LIMITS.sseHeartbeatMs;
  // Open streams would hold server.close() until their clients leave: end them first.
  const open = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of [...open]) end();
  });

  app.withTypeProvider<TypeBoxTypeProvider>().get('/v1/instances/tasks/:task_id/events', { schema: EVENTS }, async (request, reply) => {
    const { tenantKey } = principalOf(request);
    const taskId = request.params.task_id;
    const found = HEX_ID.test(taskId) ? await store.getTask(tenantKey, taskId) : null;
    if (found === null) throw new ApiError('NO_SUCH_TASK', { taskId });
    await stream(reply, found, tenantKey, request.id);
  });

  async function stream(reply: FastifyReply, found: TaskView, tenantKey: number, requestId: string): Promise<void> {
    const { taskKey, taskId } = found;
    const last = new Map<string, number>(found.jobs.map((j) => [j.jobId, -1]));
    let snapshotDone = false;
    let closed = false;
    const pending: JobView[] = [];
    const raw = reply.raw;

    const cleanup: (() => void)[] = [];
    const close = (): void => {
      if (closed) return;
      closed = true;
      for (const fn of cleanup) fn();
    };
    const shutdown = (): void => {
      close();
      raw.end();
    };
    open.add(shutdown);
    cleanup.push(() => open.delete(shutdown));

    const emit = (job: JobView): void => {
      if (closed) return;
      const prev = last.get(job.jobId);
      if (prev === undefined || rank(job.state) <= prev) return;
      last.set(job.jobId, rank(job.state));
      raw.write(`event: job\ndata: ${JSON.stringify(jobJson(job))}\n\n`);
    };
    const finishIfDone = (): void => {
      if (closed) return;
      for (const r of last.values()) if (r < 2) return;
      raw.write(`event: done\ndata: ${JSON.stringify({ task_id: taskId })}\n\n`);
      close();
      raw.end();
    };
    const resync = async (): Promise<void> => {
      try {
        const task = await store.getTask(tenantKey, taskId);
        if (task === null) {
          // Purged while watched: nothing more will happen to it.
          close();
          raw.end();
          return;
        }
        for (const j of task.jobs) emit(j);
        finishIfDone();
      } catch {
        // A transient store error: the next heartbeat tries again.
      }
    };

    // Subscribe first: events arriving before the snapshot is written wait in `pending`.
    cleanup.push(
      dispatcher.onJobEvent(taskKey, (e) => {
        if (!snapshotDone) {
          pending.push(e.job);
          return;
        }
        emit(e.job);
        if (isFinal(e.state)) finishIfDone();
      }),
    );
    cleanup.push(watch.watch(taskKey, () => void resync()));

    reply.hijack();
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
      [REQUEST_ID_HEADER]: requestId,
    });
    raw.on('close', close);
    if (raw.destroyed) close();
    const timer = setInterval(() => {
      if (closed) return;
      raw.write(': ping\n\n');
      void resync();
    }, heartbeatMs);
    cleanup.push(() => clearInterval(timer));

    const current = await store.getTask(tenantKey, taskId).catch(() => found);
    for (const j of (current ?? found).jobs) emit(j);
    snapshotDone = true;
    for (const j of pending.splice(0)) emit(j);
    finishIfDone();
  }
}
