// What the worker holds of the queue, and what it leaves in the store. Each lane holds at most a
// window of its instance's queued jobs, and all lanes together at most maxHeld: a backlog of
// millions costs disk, not memory. Past its window a lane is "spilled": the global reader (which
// still reads every new job, that is how it learns a lane has work) drops the lane's jobs, and the
// lane refills from the store (store.queuedJobsOf) when what it holds runs low. Lanes that cannot
// refill for want of global room wait in one FIFO and refill in turn as room frees.
//
// The races, and where each is handled:
// - The global reader and a refill read the same job (a refill reads ahead of the global reader,
//   which then reaches the same jobs): a lane remembers the highest key it took (`taken`), and
//   takes nothing at or below it again (admit). markRunning, guarded in the store, is the last
//   safety net, not the only one.
// - A job committed between a refill's read and its return: the global reader either handles it
//   before the refill returns (the lane is still spilled: it drops the job and notes it,
//   `droppedWhileRefilling`) or after (the refill has returned; see the next point). So a lane
//   stops being spilled only when a refill came back short (the store had no more of its jobs)
//   AND the global reader dropped none of its jobs meanwhile; otherwise it refills again.
// - A job cancelled while a refill is in flight (tenant cancel, instance reassigned or removed):
//   its key is noted while any refill is in flight, and the refill leaves it out.
// - A restart: a new worker reads the whole queue from its start; this holds a window per lane
//   again and refills as before.
// - stop() while refilling: the refill's jobs are dropped (they stay queued in the store).
// - An unreachable instance would hold a window for the whole retry window, and enough of them
//   would take all the room from lanes that can run: after a failed connect its lane keeps its
//   head job only (shed: `taken` goes back to the head's key, the lane is spilled, so the global
//   reader drops the rest and a refill reads them again), and refills only once empty. Never
//   while a refill is in flight, whose jobs would land after the ones let go.
import type { QueuedJob } from '../store/index.js';
import type { Lane } from './lane.js';
import type { Logger } from './ports.js';

export interface BacklogOptions {
  /** queued jobs one lane holds at most */
  window: number;
  /** queued jobs all lanes hold together at most */
  maxHeld: number;
  logger: Logger;
}

export interface BacklogHooks {
  /** One instance's queued jobs after a key, in key order (store.queuedJobsOf). */
  read(instanceKey: number, afterJobKey: number, limit: number): Promise<QueuedJob[]>;
  /** Resolves when the result writer has room: a refill of an unreachable instance may fail all
   * its jobs at once, and pages must not outrun the writer. */
  resultRoom(): Promise<void>;
  /** A refill's jobs, taken (already counted): they join the lane. */
  refilled(lane: Lane, jobs: QueuedJob[]): void;
}

export class Backlog {
  readonly #o: BacklogOptions;
  readonly #hooks: BacklogHooks;
  /** a lane refills when it holds this many or fewer */
  readonly #lowWater: number;
  #held = 0;
  /** room promised to refills in flight */
  #reserved = 0;
  /** spilled lanes at low water waiting for global room, in the order they asked (a Set keeps it) */
  readonly #starved = new Set<Lane>();
  /** lanes whose refill read failed: tried again by retry() */
  readonly #failed = new Set<Lane>();
  readonly #inFlight = new Set<Promise<void>>();
  /** keys cancelled while refills were in flight (null when none is) */
  #cancelled: Set<number> | null = null;
  #stopped = false;

  constructor(options: BacklogOptions, hooks: BacklogHooks) {
    this.#o = { ...options, window: Math.max(1, options.window), maxHeld: Math.max(1, options.maxHeld) };
    this.#hooks = hooks;
    this.#lowWater = Math.floor(this.#o.window / 2);
  }

  /** queued (or starting) jobs held by all lanes */
  get held(): number {
    return this.#held;
  }

  /** The global reader's job for `lane`: true when the lane takes it (and it is counted). */
  admit(lane: Lane, jobKey: number): boolean {
    if (jobKey <= lane.taken) return false; // a refill read ahead and took it
    if (!lane.spilled) {
      // Lanes already waiting for room go first: a newcomer joins the line rather than take it.
      if (lane.held < this.#o.window && this.#room() > 0 && this.#starved.size === 0) {
        lane.taken = jobKey;
        this.#held++;
        return true;
      }
      lane.spilled = true;
    }
    if (lane.refilling) lane.droppedWhileRefilling = true;
    this.#want(lane);
    return false;
  }

  /** n jobs the lane held left it (started, failed, cancelled): it, or a starved lane, may refill. */
  released(lane: Lane, n: number): void {
    this.#held -= n;
    this.#want(lane);
    if (this.#starved.size > 0) this.#serve();
  }

  /** The lane let its queued jobs after `keptUpTo` go (n of them, still queued in the store): it
   * reads them again when it refills. The caller made sure no refill of the lane is in flight. */
  shed(lane: Lane, keptUpTo: number, n: number): void {
    if (n === 0) return;
    lane.taken = keptUpTo;
    lane.spilled = true;
    this.#held -= n;
    if (this.#starved.size > 0) this.#serve();
  }

  /** Queued jobs the store cancelled that no lane holds: a refill in flight may be reading them. */
  cancelled(jobKeys: readonly number[]): void {
    if (this.#cancelled === null) return;
    for (const key of jobKeys) this.#cancelled.add(key);
  }

  /** Refills whose read failed are tried again (the dispatcher's poll). */
  retry(): void {
    const lanes = [...this.#failed];
    this.#failed.clear();
    for (const lane of lanes) this.#want(lane);
  }

  /** No refill starts from now on; resolves when those in flight ended (their jobs are dropped). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#starved.clear();
    this.#failed.clear();
    await Promise.all([...this.#inFlight]);
  }

  #room(): number {
    return this.#o.maxHeld - this.#held - this.#reserved;
  }

  /** An unreachable lane (waiting to retry its connect) refills only once empty. */
  #low(lane: Lane): number {
    return lane.waitingToConnect ? 0 : this.#lowWater;
  }

  /** A spilled lane at low water asks for a refill; it waits its turn behind starved lanes. */
  #want(lane: Lane): void {
    if (!lane.spilled || lane.refilling || lane.held > this.#low(lane) || this.#stopped) return;
    this.#starved.add(lane);
    this.#serve();
  }

  /** Starts refills in FIFO order while there is room for a useful amount. */
  #serve(): void {
    for (const lane of this.#starved) {
      if (!lane.spilled || lane.refilling || lane.held > this.#low(lane)) {
        this.#starved.delete(lane);
        continue;
      }
      const need = this.#o.window - lane.held;
      const room = this.#room();
      // Not one job at a time as room frees: wait until half a window (or all it needs) fits.
      if (room < Math.min(need, Math.max(1, this.#lowWater))) return;
      this.#starved.delete(lane);
      this.#refill(lane, Math.min(need, room));
    }
  }

  #refill(lane: Lane, want: number): void {
    lane.refilling = true;
    lane.droppedWhileRefilling = false;
    this.#reserved += want;
    this.#cancelled ??= new Set();
    const p = this.#read(lane, want).finally(() => {
      this.#inFlight.delete(p);
      if (this.#inFlight.size === 0) this.#cancelled = null;
    });
    this.#inFlight.add(p);
  }

  async #read(lane: Lane, want: number): Promise<void> {
    let rows: QueuedJob[] | null = null;
    try {
      await this.#hooks.resultRoom();
      if (!this.#stopped) rows = await this.#hooks.read(lane.instanceKey, lane.taken, want);
    } catch (err) {
      this.#o.logger.error({ err, instanceKey: lane.instanceKey }, 'reading an instance\'s queued jobs failed; tried again shortly');
    }
    this.#reserved -= want;
    lane.refilling = false;
    if (this.#stopped) return; // they stay queued in the store for the next start
    if (rows === null) {
      this.#failed.add(lane);
      return;
    }
    const jobs: QueuedJob[] = [];
    for (const q of rows) {
      if (q.jobKey <= lane.taken) continue;
      lane.taken = q.jobKey;
      if (this.#cancelled?.has(q.jobKey) !== true) jobs.push(q);
    }
    // Short: the store had no more of the lane's jobs when read. Jobs committed since are ahead of
    // the global reader, which takes them now, unless it handled one already (and dropped it).
    if (rows.length < want && !lane.droppedWhileRefilling) lane.spilled = false;
    this.#held += jobs.length;
    if (jobs.length > 0) this.#hooks.refilled(lane, jobs);
    // Everything it read was cancelled, or it is still low (the reader dropped more): again.
    this.#want(lane);
    if (this.#starved.size > 0) this.#serve();
  }
}
