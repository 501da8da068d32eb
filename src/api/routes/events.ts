// SPEC §7: a task's job state changes as Server-Sent Events. The task service hands over the task
// as the store has it, first and after every committed change; per job only states that advance
// (queued < running < final) are sent, so the stream has no duplicates and no reversals.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { ApiError, HEX_ID, LIMITS, type JobState } from '../../core/index.js';
import type { TaskView } from '../../store/index.js';
import type { TaskWatch } from '../../tasks/index.js';
import { principalOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { REQUEST_ID_HEADER } from '../request-id.js';
import { EVENTS } from '../schemas/index.js';
import { jobJson } from '../views.js';

function rank(state: JobState): number {
  if (state === 'queued') return 0;
  if (state === 'running') return 1;
  return 2;
}

export async function eventRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { tasks } = deps;
  const heartbeatMs = deps.sseHeartbeatMs ?? LIMITS.sseHeartbeatMs;
  // Open streams would hold server.close() until their clients leave: end them first.
  const open = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of [...open]) end();
  });

  app.withTypeProvider<TypeBoxTypeProvider>().get('/v1/instances/tasks/:task_id/events', { schema: EVENTS }, async (request, reply) => {
    const { tenantKey } = principalOf(request);
    const taskId = request.params.task_id;
    // Views that arrive before the stream is open wait here, in order.
    const early: (TaskView | null)[] = [];
    let stream: EventStream | null = null;
    const watch = HEX_ID.test(taskId)
      ? await tasks.watch(tenantKey, taskId, (task) => (stream ? stream.update(task) : early.push(task)))
      : null;
    if (watch === null) throw new ApiError('NO_SUCH_TASK', { taskId });
    stream = new EventStream(reply, taskId, request.id, watch, heartbeatMs, open);
    for (const task of early) stream.update(task);
  });
}

/** One open stream: the per-job rank filter, the heartbeat, and the end. */
class EventStream {
  readonly #raw: FastifyReply['raw'];
  readonly #taskId: string;
  readonly #watch: TaskWatch;
  readonly #open: Set<() => void>;
  readonly #timer: NodeJS.Timeout;
  /** per job id, the rank of the last state sent (-1: none yet) */
  readonly #sent = new Map<string, number>();
  #closed = false;

  constructor(reply: FastifyReply, taskId: string, requestId: string, watch: TaskWatch, heartbeatMs: number, open: Set<() => void>) {
    this.#raw = reply.raw;
    this.#taskId = taskId;
    this.#watch = watch;
    this.#open = open;
    reply.hijack();
    this.#raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
      [REQUEST_ID_HEADER]: requestId,
    });
    open.add(this.end);
    this.#raw.on('close', this.#close);
    this.#timer = setInterval(() => {
      if (this.#closed) return;
      this.#raw.write(': ping\n\n');
      // Also a resync: a change another node made, or a read that failed, is seen here.
      watch.refresh();
    }, heartbeatMs);
    if (this.#raw.destroyed) this.#close();
  }

  /** The task as the store has it now; null: it was purged while watched (nothing more comes). */
  update(task: TaskView | null): void {
    if (this.#closed) return;
    if (task === null) {
      this.end();
      return;
    }
    let done = true;
    for (const job of task.jobs) {
      const r = rank(job.state);
      if (r < 2) done = false;
      if (r <= (this.#sent.get(job.jobId) ?? -1)) continue;
      this.#sent.set(job.jobId, r);
      this.#raw.write(`event: job\ndata: ${JSON.stringify(jobJson(job))}\n\n`);
    }
    if (!done) return;
    this.#raw.write(`event: done\ndata: ${JSON.stringify({ task_id: this.#taskId })}\n\n`);
    this.end();
  }

  readonly end = (): void => {
    this.#close();
    this.#raw.end();
  };

  readonly #close = (): void => {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#watch.close();
    this.#open.delete(this.end);
  };
}
