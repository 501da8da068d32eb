// What the worker holds of the queue, and what it leaves in the store. Each lane holds at most a
// window of its instance's queued jobs, and all lanes together at most maxHeld. Past its window a
// lane notes only the keys of its further jobs (`lane.spill`, 8 bytes each) and refills from the
// store by those keys (store.queuedJobsIn) when what it holds runs low. Lanes that cannot refill
// for want of global room wait in one FIFO and refill in turn as room frees.
//
// Why keys and not a per-instance read of the store: an index on jobs (instance, id) would serve
// one, but a task's 100 jobs then land at 100 places of the index, and it made a task insert ~3x
// slower (8,400 -> 2,800 tasks of 100 jobs/s, raw SQLite): the submit rate is worth more than the
// 8 bytes a queued job past the window costs here (2,000,000 of them: 16 MB; the job itself, with
// its command and ids, stays in the database only).
//
// The races, and where each is handled:
// - Order: a lane takes a job from the global reader only while it has no noted keys and no
//   refill in flight; otherwise the key joins the tail of its notes. A refill takes keys from the
//   head of the notes, so the jobs a lane holds are always older than the ones it noted.
// - A job cancelled (tenant cancel, instance reassigned or removed) while only its key is noted:
//   the refill's read leaves it out (it is no longer queued). One cancelled after the read and
//   before its answer arrives: its key is remembered while any refill is in flight, and the refill
//   leaves it out. markRunning, guarded in the store, is the last safety net, not the only one.
// - A refill read that fails: its keys go back to the head of the notes, tried again by retry().
// - A restart: a new worker reads the whole queue from its start and notes again what it cannot hold.
// - stop() while refilling: the refill's jobs are dropped (they stay queued in the store).
// - an instance dropped (its lease went) while its lane refills: the same (lane.generation).
// - An unreachable instance would hold a window for the whole retry window, and enough of them
//   would take all the room from lanes that can run: after a failed connect its lane keeps its
//   head job only (shed: the others' keys go back to the head of its notes), and refills only once
//   empty. Never while a refill is in flight, whose jobs would land before the ones let go.
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
  /** The jobs among these keys still queued, in key order (store.queuedJobsIn). */
  read(jobKeys: readonly number[]): Promise<QueuedJob[]>;
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
  /** lanes at low water with notes, waiting for global room, in the order they asked (a Set keeps it) */
  readonly #starved = new Set<Lane>();
  /** lanes whose refill read failed: tried again by retry() */
  readonly #failed = new Set<Lane>();
  readonly #inFlight = new Set<Promise<void>>();
  /** keys cancelled while refills were in flight (null when none is) */
  #cancelled: Set<number> | null = null;
  #stopped = false;
  /** resolves at stop(): a refill waiting for the writer's room waits no longer (the writer is
   * stopped after the refills, and while the store refuses results its room never frees) */
  readonly #stopping: Promise<void>;
  #stop!: () => void;

  constructor(options: BacklogOptions, hooks: BacklogHooks) {
    this.#o = { ...options, window: Math.max(1, options.window), maxHeld: Math.max(1, options.maxHeld) };
    this.#hooks = hooks;
    this.#lowWater = Math.floor(this.#o.window / 2);
    this.#stopping = new Promise((resolve) => (this.#stop = resolve));
  }

  /** queued (or starting) jobs held by all lanes */
  get held(): number {
    return this.#held;
  }

  /** The global reader's job for `lane`: true when the lane takes it (and it is counted). */
  admit(lane: Lane, jobKey: number): boolean {
    // Lanes already waiting for room go first: a newcomer joins the line rather than take it.
    if (lane.spill.length === 0 && !lane.refilling && lane.held < this.#o.window && this.#room() > 0 && this.#starved.size === 0) {
      this.#held++;
      return true;
    }
    lane.spill.push(jobKey);
    this.#want(lane);
    this.#serve();
    return false;
  }

  /** n jobs the lane held left it (started, failed, cancelled): it, or a starved lane, may refill. */
  released(lane: Lane, n: number): void {
    this.#held -= n;
    this.#want(lane);
    this.#serve();
  }

  /** The lane let these queued jobs go (still queued in the store, older than its notes): it reads
   * them again when it refills. The caller made sure no refill of the lane is in flight. */
  shed(lane: Lane, jobKeys: readonly number[]): void {
    if (jobKeys.length === 0) return;
    lane.spill.giveBack(jobKeys);
    this.#held -= jobKeys.length;
    this.#serve();
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
    this.#serve();
  }

  /** No refill starts from now on; resolves when those in flight ended (their jobs are dropped). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#stop();
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

  #wants(lane: Lane): boolean {
    return lane.spill.length > 0 && !lane.refilling && lane.held <= this.#low(lane) && !this.#failed.has(lane);
  }

  /** A lane at low water with notes asks for a refill; it waits its turn behind starved lanes
   * (the caller serves them next). */
  #want(lane: Lane): void {
    if (this.#stopped || !this.#wants(lane)) return;
    this.#starved.add(lane);
  }

  /** Starts refills in FIFO order while there is room for a useful amount. */
  #serve(): void {
    if (this.#starved.size === 0) return;
    for (const lane of this.#starved) {
      if (!this.#wants(lane)) {
        this.#starved.delete(lane);
        continue;
      }
      const need = Math.min(this.#o.window - lane.held, lane.spill.length);
      const room = this.#room();
      // Not one job at a time as room frees: wait until half a window (or all it needs, or all the
      // global bound can ever give) fits.
      if (room < Math.min(need, Math.max(1, this.#lowWater), this.#o.maxHeld)) return;
      this.#starved.delete(lane);
      this.#refill(lane, lane.spill.take(Math.min(need, room)));
    }
  }

  #refill(lane: Lane, keys: number[]): void {
    lane.refilling = true;
    this.#reserved += keys.length;
    this.#cancelled ??= new Set();
    const p = this.#read(lane, keys).finally(() => {
      this.#inFlight.delete(p);
      if (this.#inFlight.size === 0) this.#cancelled = null;
    });
    this.#inFlight.add(p);
  }

  async #read(lane: Lane, keys: number[]): Promise<void> {
    const generation = lane.generation;
    let rows: QueuedJob[] | null = null;
    try {
      await Promise.race([this.#hooks.resultRoom(), this.#stopping]);
      if (!this.#stopped) rows = await this.#hooks.read(keys);
    } catch (err) {
      this.#o.logger.error({ err, instanceKey: lane.instanceKey }, 'reading an instance\'s queued jobs failed; tried again shortly');
    }
    this.#reserved -= keys.length;
    lane.refilling = false;
    if (this.#stopped) return; // they stay queued in the store for the next start
    // The instance was dropped meanwhile (its lease went): the jobs stay queued for its holder.
    if (lane.generation !== generation) return;
    if (rows === null) {
      lane.spill.giveBack(keys);
      this.#failed.add(lane);
      return;
    }
    const jobs = this.#cancelled === null ? rows : rows.filter((q) => !this.#cancelled!.has(q.jobKey));
    this.#held += jobs.length;
    if (jobs.length > 0) this.#hooks.refilled(lane, jobs);
    // Everything it read was cancelled, or it is still low: again.
    this.#want(lane);
    this.#serve();
  }
}
