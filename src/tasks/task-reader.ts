// Reads a task after the store said it changed, at most one read at a time and one per change
// burst. The read starts in the microtask after the notice, before the next write can commit (the
// store's writes are their own turns of the event loop), so each committed state is seen: a job's
// `running` is read before its result is written, and an event stream shows every step.
import type { Store, TaskView } from '../store/index.js';

export class TaskReader {
  readonly #store: Store;
  readonly #tenantKey: number;
  readonly #taskId: string;
  readonly #listener: (task: TaskView | null) => void;
  #scheduled = false;
  #reading = false;
  #again = false;
  #closed = false;

  constructor(store: Store, tenantKey: number, taskId: string, listener: (task: TaskView | null) => void) {
    this.#store = store;
    this.#tenantKey = tenantKey;
    this.#taskId = taskId;
    this.#listener = listener;
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
      task = await this.#store.getTask(this.#tenantKey, this.#taskId);
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
}
