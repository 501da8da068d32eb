// Unreachable instances, for the scheduler: connection first (at most MAX_CONNECTS_IN_FLIGHT
// attempts at once), the next attempt when the pool allows one, the lane shed to its head job
// meanwhile, and the retry window: queued jobs that outlive it fail 1002 (1007 at once when the
// device refuses our key). The scheduler hands a lane over when its instance is not connected and
// gets it back (`ready`) once it is.
import { JobCode } from '../core/index.js';
import type { JobResult } from '../store/index.js';
import type { Backlog } from './backlog.js';
import { ConnectQueue } from './connect-queue.js';
import type { Lane, WorkJob } from './lane.js';
import { failedResult } from './outcome.js';
import { adbErrorCode, type Logger, type ConnectionPool } from './ports.js';

/** Connects the worker starts at once; more lanes wait their turn (still queued, cancellable). */
const MAX_CONNECTS_IN_FLIGHT = 256;

export interface ReconnectOptions {
  pool: ConnectionPool;
  logger: Logger;
  perInstanceConcurrency: number;
  retryWindowMs: number;
}

/** What the scheduler does for the lanes this hands back or empties. */
export interface ReconnectHost {
  readonly backlog: Backlog;
  /** the instance answers and the lane has queued jobs and a free slot: it may start them */
  ready(lane: Lane): void;
  /** the job left the lane (shed to the store, or failed here): the scheduler no longer holds it */
  forget(job: WorkJob): void;
  /** the queued job failed here (its result still has to be stored) */
  finished(job: WorkJob, result: JobResult): void;
}

export class Reconnect {
  readonly #o: ReconnectOptions;
  readonly #host: ReconnectHost;
  readonly #connects = new ConnectQueue(MAX_CONNECTS_IN_FLIGHT, (lane) => this.#attempt(lane));
  #stopped = false;

  constructor(options: ReconnectOptions, host: ReconnectHost) {
    this.#o = options;
    this.#host = host;
  }

  /** Connects the lane's instance, unless an attempt is under way or waits for the pool. */
  connect(lane: Lane): void {
    if (lane.connecting || lane.waitingToConnect || this.#stopped) return;
    lane.connectStarted();
    this.#connects.add(lane);
  }

  /** Jobs joined a lane: those whose window passed while it waits to reconnect fail now, and the
   * next deadline is armed. */
  refilled(lane: Lane): void {
    if (!lane.waitingToConnect || lane.connecting) return;
    this.#expire(lane);
    this.#armExpiry(lane);
  }

  /** No more attempts; a failed one leaves its jobs queued in the store for the next start. */
  stop(): void {
    this.#stopped = true;
    this.#connects.stop();
  }

  #attempt(lane: Lane): Promise<void> {
    return this.#o.pool.connect(lane.address).then(
      () => {
        lane.connected();
        if (lane.queued > 0 && lane.active < this.#o.perInstanceConcurrency && !this.#stopped) this.#host.ready(lane);
      },
      (err: unknown) => this.#failed(lane, err),
    );
  }

  #failed(lane: Lane, err: unknown): void {
    lane.connectEnded();
    if (this.#stopped) return;
    const code = adbErrorCode(err);
    if (code === 'AUTH_REJECTED') {
      // Retrying will not change the device's mind: fail what waits now; later jobs try again.
      this.#failQueued(lane, JobCode.AuthRejected, Infinity);
      return;
    }
    if (code === null) this.#o.logger.warn({ err, address: lane.address }, 'connect failed unexpectedly');
    else this.#o.logger.debug({ code, address: lane.address }, 'instance unreachable');
    this.#expire(lane);
    if (lane.queued === 0) return;
    // The pool owns the reconnect policy: the next attempt waits until it allows one.
    lane.retryConnectAt(this.#o.pool.nextAttemptAt(lane.address), () => {
      if (lane.queued > 0 && lane.active < this.#o.perInstanceConcurrency) this.connect(lane);
    });
    this.#shed(lane);
    this.#armExpiry(lane);
  }

  /** While unreachable the lane holds its head job only (its retry window's clock); the rest go
   * back to the store and their room to lanes that can run (backlog.ts). */
  #shed(lane: Lane): void {
    if (lane.refilling || lane.queued <= 1) return;
    const gone = lane.shed();
    for (const job of gone) this.#host.forget(job);
    this.#host.backlog.shed(lane, gone.map((j) => j.jobKey));
  }

  #armExpiry(lane: Lane): void {
    if (this.#stopped) return;
    const head = lane.peek();
    if (!head) return;
    lane.expireAt(lane.windowStart(head) + this.#o.retryWindowMs, () => {
      this.#expire(lane);
      if (lane.queued > 0 && lane.waitingToConnect) this.#armExpiry(lane);
    });
  }

  /** Fails (1002) the queued jobs whose retry window has passed while the instance is unreachable.
   * Not while a connect attempt is under way: its outcome (bounded by the pool's connect and auth
   * timeouts) decides, so a device that refuses our key reports 1007 rather than 1002. */
  #expire(lane: Lane): void {
    if (lane.connecting || this.#o.pool.isConnected(lane.address) || lane.active >= this.#o.perInstanceConcurrency) return;
    this.#failQueued(lane, JobCode.Unreachable, Date.now() - this.#o.retryWindowMs);
  }

  /** Fails queued jobs whose window started at or before `windowStartedBy`, from the head on. */
  #failQueued(lane: Lane, code: JobCode, windowStartedBy: number): void {
    const now = Date.now();
    for (let job = lane.peek(); job; job = lane.peek()) {
      if (lane.windowStart(job) > windowStartedBy) break;
      lane.drop();
      this.#host.forget(job);
      this.#host.backlog.released(lane, 1);
      this.#host.finished(job, failedResult(job.jobKey, code, now));
    }
  }
}
