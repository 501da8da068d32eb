// SPEC §7's event streams, shared per task. However many clients follow a task, it has one watch on
// the task service, one per-job rank filter, one heartbeat (and its resync), and each event is
// serialized once: the same string goes to every stream, and what one turn of the event loop
// produced goes to each stream in one write. A stream that joins later first gets every job's last
// event (the task as last read), then the shared ones, so per job the states only advance.
//
// A read may find a job already final whose `running` it never saw: a re-read that runs after
// both commits (PostgreSQL's reads are asynchronous; another process's writes are seen at the
// heartbeat's re-read). A job that ran has `started_at`, so its stream gets the running event
// first, built as the store showed it while running (runningView), then the final one.
import type { FastifyReply } from 'fastify';
import { ApiError, type JobState } from '../core/index.js';
import type { JobView, TaskView } from '../store/index.js';
import type { TaskService, TaskWatch } from '../tasks/index.js';
import { REQUEST_ID_HEADER } from './request-id.js';
import { jobJson } from './views.js';

type Raw = FastifyReply['raw'];

const PING = ': ping\n\n';

function rank(state: JobState): number {
  if (state === 'queued') return 0;
  if (state === 'running') return 1;
  return 2;
}

/** The job as it read while running: what a finished job's row held between markRunning and its
 * result (the result's fields are written only by finishJobs, all at once). */
function runningView(job: JobView): JobView {
  return {
    ...job,
    state: 'running',
    errorCode: '',
    errorMsg: '',
    executeMsg: '',
    exitCode: null,
    finishedAt: null,
    outputBytes: 0,
    outputTruncated: false,
  };
}

function jobEvent(job: JobView): string {
  return `event: job\ndata: ${JSON.stringify(jobJson(job))}\n\n`;
}

/** The event streams of every watched task, one TaskEvents per task. */
export class TaskEventHub {
  readonly #tasks: TaskService;
  readonly #heartbeatMs: number;
  /** by `${tenantKey}/${taskId}`: a tenant joins only a watch its own ownership check opened */
  readonly #live = new Map<string, TaskEvents>();
  /** shutting down: no stream opens any more (one would hold server.close() open) */
  #closed = false;

  constructor(tasks: TaskService, heartbeatMs: number) {
    this.#tasks = tasks;
    this.#heartbeatMs = heartbeatMs;
  }

  /** Streams the task's events into this reply; false (nothing sent) when the task is not the tenant's. */
  async stream(tenantKey: number, taskId: string, reply: FastifyReply, requestId: string): Promise<boolean> {
    const key = `${tenantKey}/${taskId}`;
    for (;;) {
      if (this.#closed) throw new ApiError('SHUTTING_DOWN', {}, { connection: 'close' });
      let events = this.#live.get(key);
      if (events === undefined) {
        const created: TaskEvents = new TaskEvents(this.#heartbeatMs, () => {
          if (this.#live.get(key) === created) this.#live.delete(key);
        });
        this.#live.set(key, created);
        created.start(this.#tasks, tenantKey, taskId);
        events = created;
      }
      if (!(await events.ready)) return false;
      if (events.attach(reply, requestId)) return true;
      // Its last stream left (or the task was purged) while this one waited: watch afresh.
    }
  }

  /** On shutdown: every open stream ends (they would hold server.close() until their clients leave). */
  close(): void {
    this.#closed = true;
    for (const events of [...this.#live.values()]) events.end();
  }
}

/** One task's streams: the rank filter, each job's last event, the heartbeat, and the end. */
class TaskEvents {
  readonly #heartbeatMs: number;
  readonly #release: () => void;
  /** live: streams attach and follow; done: every job is final (a late stream gets it all at once) */
  #state: 'starting' | 'live' | 'done' | 'ended' = 'starting';
  readonly #streams = new Set<Raw>();
  /** per job key, the rank of the last state sent and that event as sent, in the task's job order */
  readonly #jobs = new Map<number, { rank: number; event: string }>();
  /** events of this turn not yet written (only while some stream listens) */
  #pending = '';
  #flushScheduled = false;
  #doneEvent = '';
  #watch: TaskWatch | null = null;
  #timer: NodeJS.Timeout | null = null;
  /** true once the first view is in (false: the task is not the tenant's) */
  ready: Promise<boolean> = Promise.resolve(false);

  constructor(heartbeatMs: number, release: () => void) {
    this.#heartbeatMs = heartbeatMs;
    this.#release = release;
  }

  start(tasks: TaskService, tenantKey: number, taskId: string): void {
    this.#doneEvent = `event: done\ndata: ${JSON.stringify({ task_id: taskId })}\n\n`;
    this.ready = tasks.watch(tenantKey, taskId, (task) => this.#update(task)).then(
      (watch) => this.#started(watch),
      (err: unknown) => {
        this.#finish('ended');
        throw err;
      },
    );
  }

  #started(watch: TaskWatch | null): boolean {
    if (watch === null) {
      this.#finish('ended');
      return false;
    }
    // Done (or purged) at the first view: nothing more to watch.
    if (this.#state !== 'starting') {
      watch.close();
      return true;
    }
    this.#watch = watch;
    this.#state = 'live';
    this.#timer = setInterval(() => {
      this.#pending += PING;
      this.#flush();
      // Also a resync: a change another node made, or a read that failed, is seen here.
      watch.refresh();
    }, this.#heartbeatMs);
    return true;
  }

  /** Opens the stream on this reply and follows the task; false when this task's watch has ended. */
  attach(reply: FastifyReply, requestId: string): boolean {
    if (this.#state !== 'live' && this.#state !== 'done') return false;
    const raw = reply.raw;
    reply.hijack();
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
      [REQUEST_ID_HEADER]: requestId,
    });
    // What this turn produced goes to the streams already here: the snapshot below holds it.
    this.#flush();
    let snapshot = '';
    for (const job of this.#jobs.values()) snapshot += job.event;
    if (this.#state === 'done') {
      raw.end(snapshot + this.#doneEvent);
      return true;
    }
    raw.write(snapshot);
    this.#streams.add(raw);
    raw.on('close', () => this.#leave(raw));
    if (raw.destroyed) this.#leave(raw);
    // Read the task again, as a stream of its own would: a change another node made shows now.
    else if (this.#streams.size > 1) this.#watch?.refresh();
    return true;
  }

  /** Ends every stream now and releases the watch (shutdown). */
  end(): void {
    this.#finish('ended');
  }

  /** The task as the store has it now; null: it was purged while watched (nothing more comes). */
  #update(task: TaskView | null): void {
    if (this.#state === 'done' || this.#state === 'ended') return;
    if (task === null) {
      this.#finish('ended');
      return;
    }
    const listening = this.#streams.size > 0;
    let done = true;
    for (const job of task.jobs) {
      const r = rank(job.state);
      if (r < 2) done = false;
      const last = this.#jobs.get(job.jobKey);
      if (last !== undefined && r <= last.rank) continue;
      const event = jobEvent(job);
      if (last === undefined) this.#jobs.set(job.jobKey, { rank: r, event });
      else {
        // Seen queued, now final, and it ran: its running state was missed (see the top).
        if (listening && last.rank === 0 && r === 2 && job.startedAt !== null) this.#pending += jobEvent(runningView(job));
        last.rank = r;
        last.event = event;
      }
      if (listening) this.#pending += event;
    }
    if (done) {
      if (listening) this.#pending += this.#doneEvent;
      this.#finish('done');
    } else if (this.#pending !== '' && !this.#flushScheduled) {
      this.#flushScheduled = true;
      process.nextTick(this.#flush);
    }
  }

  /** Writes this turn's events to every stream, once. */
  readonly #flush = (): void => {
    this.#flushScheduled = false;
    const chunk = this.#pending;
    if (chunk === '') return;
    this.#pending = '';
    for (const raw of this.#streams) raw.write(chunk);
  };

  /** The task is done (every job final) or the watch ends: streams end, the watch is released. */
  #finish(state: 'done' | 'ended'): void {
    if (this.#state === 'done' || this.#state === 'ended') return;
    this.#state = state;
    this.#flush();
    const streams = [...this.#streams];
    this.#streams.clear();
    for (const raw of streams) raw.end();
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#watch?.close();
    this.#release();
  }

  #leave(raw: Raw): void {
    if (!this.#streams.delete(raw) || this.#streams.size > 0) return;
    // The last stream left: nobody follows the task any more.
    this.#finish('ended');
  }
}
