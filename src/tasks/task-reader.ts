// Reads a task after the store said it changed, at most one read at a time and one per change
// burst. The read starts in the microtask after the notice. A watcher must not count on seeing
// every committed state: only SQLite's reads are synchronous, so only there does a read of this
// process's own commit finish before the next write commits. On PostgreSQL the read awaits a
// round trip while the worker may commit the job's result, and a change another process made is
// seen at its notice or the next refresh, both possibly past several commits: a job seen queued
// may next be seen final. What a view does hold: per job, states only advance.
//
// After the first read, a re-read asks the store only for the jobs that moved past what this
// reader saw (Store.advancedJobs): a final job never changes again, and a job's row changes only
// with its state, so the rest of the view is the store's as it is. A notice on a 100-job task
// then costs the jobs it moved, not all 100.
import { isFinal, type JobState } from '../core/index.js';
import type { Store, TaskView } from '../store/index.js';

function rankChar(state: JobState): string {
  if (state === 'queued') return '0';
  if (state === 'running') return '1';
  return '2';
}

export class TaskReader {
  readonly #store: Store;
  readonly #tenantKey: number;
  readonly #taskId: string;
  readonly #listener: (task: TaskView | null) => void;
  #scheduled = false;
  #reading = false;
  #again = false;
  #closed = false;
  /** the view last read */
  #view: TaskView | null;

  /** first: the task as the caller read it already (re-reads then start from it) */
  constructor(store: Store, tenantKey: number, taskId: string, listener: (task: TaskView | null) => void, first: TaskView | null = null) {
    this.#store = store;
    this.#tenantKey = tenantKey;
    this.#taskId = taskId;
    this.#listener = listener;
    this.#view = first;
  }

  schedule(): void {
    if (this.#closed || this.#scheduled) return;
    if (this.#reading) {
      this.#again = true;
      return;
    }
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      void this.#read();
    });
  }

  close(): void {
    this.#closed = true;
  }

  async #read(): Promise<void> {
    if (this.#closed) return;
    this.#reading = true;
    let task: TaskView | null;
    try {
      task = await this.#readTask();
    } catch {
      // A transient store error: the next change or the watcher's refresh reads again.
      this.#reading = false;
      return;
    }
    this.#reading = false;
    if (!this.#closed) {
      try {
        this.#listener(task);
      } catch (err) {
        // A watcher's bug must not stop the reads of the others (nor become an unhandled rejection).
        process.emitWarning(err instanceof Error ? err : new Error(String(err)), 'TaskWatchListenerError');
      }
    }
    if (this.#again) {
      this.#again = false;
      this.schedule();
    }
  }

  async #readTask(): Promise<TaskView | null> {
    const view = this.#view;
    const jobs = view?.jobs ?? [];
    let from = 0;
    while (from < jobs.length && isFinal(jobs[from]!.state)) from++;
    let to = jobs.length;
    while (to > from && isFinal(jobs[to - 1]!.state)) to--;
    // First, or every job final (nothing can move; a purge shows as null), or keys with a gap
    // (seen's characters are by key): the whole task.
    if (view === null || from === to || jobs[to - 1]!.jobKey - jobs[from]!.jobKey !== to - 1 - from) {
      return (this.#view = await this.#store.getTask(this.#tenantKey, this.#taskId));
    }
    let seen = '';
    for (let i = from; i < to; i++) seen += rankChar(jobs[i]!.state);
    const fromKey = jobs[from]!.jobKey;
    const moved = await this.#store.advancedJobs(view.taskKey, fromKey, seen);
    if (moved === null) return (this.#view = null);
    if (moved.length === 0) return view;
    const next = jobs.slice();
    for (const job of moved) next[from + job.jobKey - fromKey] = job;
    return (this.#view = { ...view, jobs: next });
  }
}
