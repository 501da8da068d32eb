// Per-task bookkeeping for the API side: job event listeners (SSE, sync-command) and waiters that
// resolve when a task has no unfinished job left in this worker.
import type { JobEvent } from './types.js';
import type { Logger } from './ports.js';

interface TaskEntry {
  tenantKey: number;
  taskId: string;
  /** jobs of the task this worker holds that are not final yet */
  open: number;
  waiters: Set<() => void>;
}

export class TaskTracker {
  readonly #tasks = new Map<number, TaskEntry>();
  readonly #listeners = new Map<number, Set<(e: JobEvent) => void>>();
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** A job of the task joined this worker. */
  opened(taskKey: number, tenantKey: number, taskId: string): void {
    const t = this.#tasks.get(taskKey);
    if (t) t.open++;
    else this.#tasks.set(taskKey, { tenantKey, taskId, open: 1, waiters: new Set() });
  }

  /** A job of the task is final (or left this worker). */
  closed(taskKey: number): void {
    const t = this.#tasks.get(taskKey);
    if (!t) return;
    if (--t.open > 0) return;
    this.#tasks.delete(taskKey);
    for (const w of t.waiters) w();
  }

  /** The task's public identity, while it has open jobs here. */
  ref(taskKey: number): { tenantKey: number; taskId: string } | null {
    const t = this.#tasks.get(taskKey);
    return t ? { tenantKey: t.tenantKey, taskId: t.taskId } : null;
  }

  /** Resolves when the task has no open job, or at the deadline (epoch ms). */
  wait(taskKey: number, deadline: number): Promise<void> {
    const t = this.#tasks.get(taskKey);
    const ms = deadline - Date.now();
    if (!t || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        t.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      t.waiters.add(done);
    });
  }

  on(taskKey: number, listener: (e: JobEvent) => void): () => void {
    let set = this.#listeners.get(taskKey);
    if (!set) this.#listeners.set(taskKey, (set = new Set()));
    set.add(listener);
    return () => {
      const s = this.#listeners.get(taskKey);
      if (!s) return;
      s.delete(listener);
      if (s.size === 0) this.#listeners.delete(taskKey);
    };
  }

  listening(taskKey: number): boolean {
    return this.#listeners.has(taskKey);
  }

  emit(e: JobEvent): void {
    const set = this.#listeners.get(e.taskKey);
    if (!set) return;
    // A copy: a listener may unsubscribe itself (SSE closing on the last event).
    for (const l of [...set]) {
      try {
        l(e);
      } catch (err) {
        this.#logger.error({ err, taskKey: e.taskKey, jobKey: e.jobKey }, 'job event listener threw');
      }
    }
  }

  /** Releases every waiter (on stop: nothing more will happen in this worker). */
  releaseAll(): void {
    for (const t of this.#tasks.values()) for (const w of [...t.waiters]) w();
  }
}
