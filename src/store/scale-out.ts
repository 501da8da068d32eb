// What several processes on one database share beyond the Store's own calls (PostgreSQL): a
// worker's instance leases, the instance health the workers measure, the tenants' rate limit.
// SQLite has none of these (its Store returns null for each): one process owns its file.
import type { InstanceStatus } from '../core/index.js';
import type { QueuedJob } from './types.js';

/** Who a worker is, for instance leases (several workers on one PostgreSQL database). */
export interface WorkerIdentity {
  /** unique among the workers of the database, and new at every start (a restarted worker is a
   * new worker: its predecessor's leases lapse and are rescued like any dead worker's) */
  workerId: string;
  /** the zones whose instances it runs; null: every zone */
  zones: readonly string[] | null;
  /** a lease not renewed for this long lapses (ms) */
  leaseMs: number;
}

/** What one lease round did (WorkerLeases.round). Instance keys, ascending. */
export interface LeaseRound {
  /** every instance this worker holds now (its lanes) */
  held: number[];
  /** claimed by this round: their queued jobs up to the worker's read cursor are read with
   * queuedJobsOf, the rest come with queuedJobs */
  acquired: number[];
  /** held before this round and no longer: released (surplus past the fair share), or taken back
   * after this worker's lease lapsed. Their lanes stop; their queued jobs stay in the store. */
  lost: number[];
  /** running jobs failed KOOPHONE.JOB.1006 by this round: their holder's lease lapsed, or nobody
   * held their instance (orphans) */
  interrupted: number;
}

/**
 * Instance leases: each instance is run by one worker at a time, the one holding its lease, so
 * per-instance FIFO and concurrency stay one dispatcher's. Once a store has joined as a worker,
 * its markRunning moves only jobs of instances it holds and its queuedJobs returns only theirs.
 */
export interface WorkerLeases {
  readonly identity: WorkerIdentity;
  /** Heartbeat, renew this worker's leases, free lapsed ones (failing their running jobs 1006,
   * once, whichever worker gets there first), release idle instances past its fair share, and
   * claim free instances of its zones up to that share. One transaction. */
  round(now: number): Promise<LeaseRound>;
  /** The worker's read of the queue: queuedJobs (its instances' jobs only), and the key up to which
   * it looked (`scannedTo`: every such job up to it is in `jobs`). The worker's cursor moves
   * there, past the other workers' jobs, which it would otherwise scan again at every read. */
  readQueue(afterJobKey: number, limit: number): Promise<{ jobs: QueuedJob[]; scannedTo: number }>;
  /** Queued jobs of these instances with afterJobKey < key <= upToJobKey, oldest first, at most
   * limit: what the worker's read cursor passed before it held them. */
  queuedJobsOf(instanceKeys: readonly number[], afterJobKey: number, upToJobKey: number, limit: number): Promise<QueuedJob[]>;
  /** Releases every lease and the worker's row (a clean stop, once its jobs ended). */
  leave(): Promise<void>;
  /** The instances held after the last round (instance keys): the same object until they change. */
  held(): ReadonlySet<number>;
  /** Stores the SPEC §6 status this worker measured, for the instances it still holds (others are
   * their new holder's to tell). */
  recordHealth(statuses: ReadonlyArray<{ instanceKey: number; status: InstanceStatus }>, now: number): Promise<void>;
  /** Of these running jobs (this worker's), the ones whose cancel was asked (cancelTask): what
   * the cancelled notice says, for when a notice was lost. */
  cancelRequested(jobKeys: readonly number[]): Promise<number[]>;
  /** The instances this worker holds whose reboot an API node asked for (SharedHealth), taken: each
   * request is handed out once. */
  takeReboots(): Promise<number[]>;
}

/** Instance health shared through the database: measured by the worker holding each instance
 * (WorkerLeases.recordHealth), read by any API node. */
export interface SharedHealth {
  /** every live instance's stored status (0 until a worker measured it) */
  read(): Promise<Array<{ instanceId: string; status: InstanceStatus }>>;
  /** Asks the worker holding the instance to reboot it (it hears at once by the change feed, or at
   * its next health interval) and stores status 4 meanwhile. False when the instance is gone. */
  requestReboot(instanceKey: number, now: number): Promise<boolean>;
}

/** A per-tenant token bucket kept in the shared database, so that every API node draws on the
 * same bucket (the same rule as the API's in-process one: `perSecond`, `burst`). */
export interface SharedRateLimiter {
  /** 0 when allowed (a token taken), else the whole seconds (>= 1) until one is available. */
  take(tenantKey: number): Promise<number>;
}
