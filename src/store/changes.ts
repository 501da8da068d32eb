// The store's change feed: what a write committed, told to whoever waits on it. It is the one
// channel between the side that changes jobs (the API's submit and cancel, the worker's results,
// an admin's instance changes) and the sides that react (the worker wakes, event streams and
// sync-command re-read the task). Nothing in it is a job's state: listeners read that from the
// store, which stays the only author of a job's view. Instance notices serve the same purpose for
// the registry: the health monitor applies the changed instances instead of re-reading them all.
//
// In one process (SQLite) the store calls the listeners right after the commit, synchronously.
// With PostgreSQL the store does the same for its own writes, and the other processes' notices
// travel by LISTEN/NOTIFY (postgres/change-relay.ts) into the same listeners.

/** Jobs the store cancelled: the queued ones are final (1004), the running ones are for their
 * worker to stop. */
export interface CancelledJobs {
  queued: readonly number[];
  running: readonly number[];
}

/** Instances an admin change added, reassigned or removed (one notice per commit: a bulk
 * registration is one notice). Readers look the ids up (instanceTargets): one not found was
 * removed. */
export interface InstancesChanged {
  instanceIds: readonly string[];
}

export interface ChangeFeed {
  /** Jobs were committed queued, the last of them with this key: a worker reads them with
   * queuedJobs(). Called once per commit, not per job. */
  onQueued(listener: (lastJobKey: number) => void): () => void;
  /** Jobs were cancelled by a tenant (cancel) or an admin (instance reassigned or removed). */
  onCancelled(listener: (jobs: CancelledJobs) => void): () => void;
  /** Instances were added, reassigned or removed (the health monitor follows the registry so). */
  onInstancesChanged(listener: (change: InstancesChanged) => void): () => void;
  /** A job of the task changed state, or the task was purged. Called at most once per commit. */
  onTaskChanged(taskKey: number, listener: () => void): () => void;
  /** Whether anyone watches the task (writers collect task keys only for watched tasks). */
  watching(taskKey: number): boolean;
}

/** The in-process feed: the store publishes, listeners run synchronously after the commit. A
 * listener must be quick and must not throw; one that does is reported and the rest still run. */
export class LocalChangeFeed implements ChangeFeed {
  readonly #queued = new Set<(lastJobKey: number) => void>();
  readonly #cancelled = new Set<(jobs: CancelledJobs) => void>();
  readonly #tasks = new Map<number, Set<() => void>>();
  readonly #instances = new Set<(change: InstancesChanged) => void>();
  readonly #onError: (err: unknown) => void;

  constructor(onError: (err: unknown) => void = reportListenerError) {
    this.#onError = onError;
  }

  onQueued(listener: (lastJobKey: number) => void): () => void {
    this.#queued.add(listener);
    return () => this.#queued.delete(listener);
  }

  onCancelled(listener: (jobs: CancelledJobs) => void): () => void {
    this.#cancelled.add(listener);
    return () => this.#cancelled.delete(listener);
  }

  onInstancesChanged(listener: (change: InstancesChanged) => void): () => void {
    this.#instances.add(listener);
    return () => this.#instances.delete(listener);
  }

  onTaskChanged(taskKey: number, listener: () => void): () => void {
    let set = this.#tasks.get(taskKey);
    if (set === undefined) this.#tasks.set(taskKey, (set = new Set()));
    set.add(listener);
    return () => {
      const s = this.#tasks.get(taskKey);
      if (s === undefined) return;
      s.delete(listener);
      if (s.size === 0) this.#tasks.delete(taskKey);
    };
  }

  watching(taskKey: number): boolean {
    return this.#tasks.has(taskKey);
  }

  /** The tasks someone watches now (a store whose notices can be lost re-reads them on a timer). */
  watchedTasks(): number[] {
    return [...this.#tasks.keys()];
  }

  /** True when some task has a watcher (most of the time none has). */
  get watchingAny(): boolean {
    return this.#tasks.size > 0;
  }

  queued(lastJobKey: number): void {
    for (const l of this.#queued) this.#call(() => l(lastJobKey));
  }

  cancelled(jobs: CancelledJobs): void {
    if (jobs.queued.length === 0 && jobs.running.length === 0) return;
    for (const l of this.#cancelled) this.#call(() => l(jobs));
  }

  instancesChanged(instanceIds: readonly string[]): void {
    if (instanceIds.length === 0) return;
    const change: InstancesChanged = { instanceIds };
    for (const l of this.#instances) this.#call(() => l(change));
  }

  taskChanged(taskKeys: Iterable<number>): void {
    for (const key of taskKeys) {
      const set = this.#tasks.get(key);
      // A copy: a listener may unsubscribe itself (an event stream ending on its last job).
      if (set !== undefined) for (const l of [...set]) this.#call(l);
    }
  }

  #call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#onError(err);
    }
  }
}

function reportListenerError(err: unknown): void {
  process.emitWarning(err instanceof Error ? err : new Error(String(err)), 'ChangeFeedListenerError');
}
