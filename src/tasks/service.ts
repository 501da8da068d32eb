// The task service: the one place a task's life is driven from. The routes parse and render; the
// store writes and is the only author of a job's view; the worker takes its jobs from the store.
// Between them, this submits, cancels, runs-and-waits and watches, with the store's change feed
// as the only signal: nothing here talks to the worker, so the worker may live in another process.
import { createHash } from 'node:crypto';
import { describeOp, isFinal, LIMITS, type OpKind, type TaskOp } from '../core/index.js';
import type { CreatedTask, Store, TaskKind, TaskView } from '../store/index.js';
import { TaskReader } from './task-reader.js';

/** A command for some of the tenant's instances, as the API accepted it. */
export interface CommandInput {
  command: string;
  /** in request order; the store checks they are the tenant's */
  instanceIds: readonly string[];
  timeoutMs: number;
}

/** A device operation (SPEC §10) for some of the tenant's instances, as the API accepted it. */
export interface OpInput {
  op: TaskOp;
  /** in request order; the store checks they are the tenant's */
  instanceIds: readonly string[];
  timeoutMs: number;
}

/** An operation request's idempotency (SPEC §3, as async-command's). */
export interface OpRequest {
  requestId: string;
  /** the request body normalized (defaults applied, unknown fields left out): two requests are
   * "the same" when these serialize alike. Not the op: an install's op holds what the fetched
   * package turned out to be, which a retry must not need to fetch again to compare. */
  body: unknown;
}

/** A live view of one task: the listener gets the task after every committed change. */
export interface TaskWatch {
  /** Reads the task again now (a heartbeat's resync: a change told elsewhere, a failed read). */
  refresh(): void;
  close(): void;
}

export interface TaskService {
  /** async-command: the task and its jobs are stored (the store wakes the worker). With a
   * requestId, a repeat of the same request within the idempotency window returns the first task
   * (replayed: true); the same id with another body is a StoreError IDEMPOTENCY_CONFLICT. */
  submit(tenantKey: number, input: CommandInput, requestId?: string): Promise<CreatedTask>;
  /** A device operation's task (its command is describeOp's words), idempotent as submit is. */
  submitOp(tenantKey: number, input: OpInput, request?: OpRequest): Promise<CreatedTask>;
  /** The task an earlier request of this kind with this id and body created within the
   * idempotency window (replayed: true), or null; a StoreError IDEMPOTENCY_CONFLICT for the same
   * id with another body. Writes nothing: it lets a route skip costly work (fetching a package)
   * a replay does not need. */
  findReplay(tenantKey: number, kind: OpKind, request: OpRequest): Promise<CreatedTask | null>;
  /** sync-command: submits, then waits until every job is final or the command's timeout (plus
   * a grace for the results to be stored) has passed; returns the task as stored then. */
  run(tenantKey: number, input: CommandInput): Promise<TaskView>;
  /** Cancels the task's queued and running jobs and waits (LIMITS.cancelWaitMs at most) for the running
   * ones to end; returns the task as stored then, or null when it is not the tenant's. */
  cancel(tenantKey: number, taskId: string): Promise<TaskView | null>;
  /** Calls listener with the task at once, then after every change the store commits to it
   * (null when it was purged); null when the task is not the tenant's. */
  watch(tenantKey: number, taskId: string, listener: (task: TaskView | null) => void): Promise<TaskWatch | null>;
  /** On shutdown, once the worker has stopped: run and cancel answer at once with the task as
   * stored (nothing more will change it in this process). */
  close(): void;
}

export function createTaskService(store: Store, clock: () => number = Date.now): TaskService {
  return new StoreTaskService(store, clock);
}

/** "The same body" for idempotency: the normalized request, in a fixed order. */
function requestHash(input: CommandInput): string {
  return createHash('sha256').update(JSON.stringify([input.command, input.instanceIds, input.timeoutMs / 1000])).digest('hex');
}

/** An operation's: its kind and its normalized body (an object, where a command's is an array,
 * so neither can pass for the other). */
function opRequestHash(kind: OpKind, body: unknown): string {
  return createHash('sha256').update(JSON.stringify({ op: kind, body })).digest('hex');
}

class StoreTaskService implements TaskService {
  readonly #store: Store;
  readonly #clock: () => number;
  /** what ends each run/cancel wait early (close) */
  readonly #waits = new Set<() => void>();

  constructor(store: Store, clock: () => number) {
    this.#store = store;
    this.#clock = clock;
  }

  submit(tenantKey: number, input: CommandInput, requestId?: string): Promise<CreatedTask> {
    return this.#create(tenantKey, input, 'async', requestId);
  }

  submitOp(tenantKey: number, input: OpInput, request?: OpRequest): Promise<CreatedTask> {
    return this.#store.createTask({
      tenantKey,
      command: describeOp(input.op),
      op: input.op,
      timeoutMs: input.timeoutMs,
      kind: 'async',
      instanceIds: input.instanceIds,
      ...(request !== undefined ? { requestId: request.requestId, requestHash: opRequestHash(input.op.kind, request.body) } : {}),
    });
  }

  findReplay(tenantKey: number, kind: OpKind, request: OpRequest): Promise<CreatedTask | null> {
    return this.#store.findRequest(tenantKey, request.requestId, opRequestHash(kind, request.body));
  }

  async run(tenantKey: number, input: CommandInput): Promise<TaskView> {
    // Idempotency (SPEC §3) is async-command's: a sync retry waits for a fresh run.
    const created = await this.#create(tenantKey, input, 'sync');
    const deadline = this.#clock() + input.timeoutMs + LIMITS.syncGraceMs;
    const task = await this.#until(tenantKey, created.taskId, created.taskKey, deadline);
    if (task === null) throw new Error(`task ${created.taskId} vanished while running`);
    return task;
  }

  async cancel(tenantKey: number, taskId: string): Promise<TaskView | null> {
    const now = this.#clock();
    // The store cancels the queued jobs and tells the worker to stop the running ones.
    const res = await this.#store.cancelTask(tenantKey, taskId, now);
    if (res === null) return null;
    return this.#until(tenantKey, taskId, res.taskKey, now + LIMITS.cancelWaitMs);
  }

  async watch(tenantKey: number, taskId: string, listener: (task: TaskView | null) => void): Promise<TaskWatch | null> {
    const first = await this.#store.getTask(tenantKey, taskId);
    if (first === null) return null;
    const reader = new TaskReader(this.#store, tenantKey, taskId, listener, first);
    const off = this.#store.changes.onTaskChanged(first.taskKey, () => reader.schedule());
    listener(first);
    // A change committed between the first read and the subscription is read now.
    reader.schedule();
    return {
      refresh: () => reader.schedule(),
      close: () => {
        off();
        reader.close();
      },
    };
  }

  #create(tenantKey: number, input: CommandInput, kind: TaskKind, requestId?: string): Promise<CreatedTask> {
    return this.#store.createTask({
      tenantKey,
      command: input.command,
      timeoutMs: input.timeoutMs,
      kind,
      instanceIds: input.instanceIds,
      ...(requestId !== undefined ? { requestId, requestHash: requestHash(input) } : {}),
    });
  }

  /** Resolves with the task once every job is final, or as it is at the deadline (null: purged). */
  #until(tenantKey: number, taskId: string, taskKey: number, deadline: number): Promise<TaskView | null> {
    return new Promise((resolve) => {
      let settled = false;
      const settle = (task: TaskView | null): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.#waits.delete(expire);
        off();
        reader.close();
        resolve(task);
      };
      const reader = new TaskReader(this.#store, tenantKey, taskId, (task) => {
        if (task === null || task.jobs.every((j) => isFinal(j.state))) settle(task);
      });
      // At the deadline (or on close): the task as it is now, final or not.
      const expire = (): void => {
        reader.close();
        this.#store.getTask(tenantKey, taskId).then(settle, () => settle(null));
      };
      const timer = setTimeout(expire, Math.max(0, deadline - this.#clock()));
      this.#waits.add(expire);
      // Subscribed before the first read: no change falls between them.
      const off = this.#store.changes.onTaskChanged(taskKey, () => reader.schedule());
      reader.schedule();
    });
  }

  close(): void {
    for (const expire of [...this.#waits]) expire();
  }
}
