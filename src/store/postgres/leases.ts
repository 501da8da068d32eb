// Instance leases for several workers on one database. A worker holds a lease per instance and is
// the only one to start that instance's jobs (markRunning checks the lease, queue.sql.ts), so
// per-instance FIFO and concurrency stay one dispatcher's, across any number of workers. Each
// round, one transaction:
// 1. heartbeat (the workers table: how many share a zone);
// 2. renew this worker's leases;
// 3. rescue: free every lapsed lease, any zone's, failing the running jobs of its instance 1006
//    (they may have run; they are never run again). Rows are taken FOR UPDATE SKIP LOCKED, so
//    two workers never rescue one instance twice, and a job's guarded state change is the last
//    net. Not in the lease after a gap in this worker's rounds (the database restarted, or out of
//    its reach): the others' leases may have lapsed for the same reason, with their jobs running
//    fine, and the first worker back would fail them all 1006. It lets them renew first; a
//    worker that really died is rescued one lease later;
// 4. release idle instances past the fair share (ceil(instances of its zones / live workers
//    serving them)), highest keys first, so a worker that joins finds instances free;
// 5. claim free instances of its zones up to the share, failing running jobs found on them
//    (orphans: a worker stopped before their results were written).
// Clocks: lapse is judged by the `now` of whoever looks, so nodes' clocks must agree to well
// within a lease (NTP does).
import type pg from 'pg';
import { jobMessage, JobCode, type InstanceStatus } from '../../core/index.js';
import type { LeaseRound, QueuedJob, WorkerIdentity, WorkerLeases } from '../types.js';
import { inTransaction } from './db.js';
import { HealthSql } from './health.sql.js';
import { LeaseSql } from './leases.sql.js';
import type { QueueHorizon } from './queue-horizon.js';
import { QueueSql } from './queue.sql.js';

/** A worker's row is kept this long after it stopped heartbeating (for an operator to see). */
const FORGET_MS = 3_600_000;

type Moved = { id: number; task: number };
/** an instance held, and the epoch of its lease (a new one at each claim) */
type Lease = { id: number; epoch: number };

export class Leases implements WorkerLeases {
  readonly identity: WorkerIdentity;
  readonly #pool: pg.Pool;
  readonly #horizon: QueueHorizon;
  /** told of the jobs a round failed (the change feed) */
  readonly #interrupted: (jobs: Moved[]) => void;
  #held = new Set<number>();
  /** instance -> the epoch of this worker's lease on it, after the last round */
  #epochs = new Map<number, number>();
  /** the `now` of the last round that committed (null: none yet) */
  #lastRound: number | null = null;
  /** no rescue before this (a lease after a gap in the rounds) */
  #quietUntil = 0;

  constructor(pool: pg.Pool, horizon: QueueHorizon, identity: WorkerIdentity, interrupted: (jobs: Moved[]) => void) {
    this.#pool = pool;
    this.#horizon = horizon;
    this.identity = identity;
    this.#interrupted = interrupted;
  }

  async round(now: number): Promise<LeaseRound> {
    const { workerId, leaseMs } = this.identity;
    const zones = this.identity.zones === null ? null : [...this.identity.zones];
    const expiry = now + leaseMs;
    const message = jobMessage(JobCode.Interrupted, null);
    // Rounds come every third of the lease: one missed (or much delayed) is a gap.
    const quietUntil = this.#lastRound !== null && now - this.#lastRound > leaseMs / 2 ? now + leaseMs : this.#quietUntil;
    const rescuing = now >= quietUntil;
    const [epochs, failed] = await inTransaction(this.#pool, async (c) => {
      await c.query(LeaseSql.heartbeat, [workerId, zones, now, expiry]);
      await c.query(LeaseSql.forgetWorkers, [now - FORGET_MS]);
      const held = new Map((await c.query<Lease>(LeaseSql.renew, [workerId, expiry])).rows.map((r) => [r.id, r.epoch]));
      const failed = rescuing ? (await c.query<Moved>(LeaseSql.rescue, [now, message])).rows : [];
      for (const r of (await c.query<{ id: number }>(LeaseSql.releaseDeleted, [workerId])).rows) held.delete(r.id);
      const counts = (await c.query<{ instances: number; workers: number }>(LeaseSql.share, [zones, now])).rows[0]!;
      const share = Math.ceil(counts.instances / Math.max(1, counts.workers));
      if (held.size > share) {
        for (const r of (await c.query<{ id: number }>(LeaseSql.release, [workerId, held.size - share])).rows) held.delete(r.id);
      } else if (held.size < share) {
        const claimed = (await c.query<Lease>(LeaseSql.claim, [workerId, expiry, zones, share - held.size])).rows;
        for (const r of claimed) held.set(r.id, r.epoch);
        const keys = claimed.map((r) => r.id);
        if (keys.length > 0) failed.push(...(await c.query<Moved>(LeaseSql.interruptOrphans, [keys, message, now])).rows);
      }
      return [held, failed] as const;
    });
    this.#lastRound = now;
    this.#quietUntil = quietUntil;
    // A lease of another epoch is another lease: lost (the lane stops) and acquired (read afresh),
    // though this worker held the instance at both rounds (it lapsed, or was rescued, and was
    // claimed back in between).
    const before = this.#epochs;
    const acquired = ascending([...epochs].filter(([id, epoch]) => before.get(id) !== epoch).map(([id]) => id));
    const lost = ascending([...before].filter(([id, epoch]) => epochs.get(id) !== epoch).map(([id]) => id));
    this.#epochs = epochs;
    // The same set while nothing changed: held() readers compare it by identity.
    if (acquired.length > 0 || lost.length > 0) this.#held = new Set(epochs.keys());
    if (failed.length > 0) this.#interrupted(failed);
    return { held: ascending(epochs.keys()), acquired, lost, interrupted: failed.length };
  }

  readQueue(afterJobKey: number, limit: number): Promise<{ jobs: QueuedJob[]; scannedTo: number }> {
    return this.#horizon.read(afterJobKey, limit, this.identity.workerId);
  }

  async queuedJobsOf(instanceKeys: readonly number[], afterJobKey: number, upToJobKey: number, limit: number): Promise<QueuedJob[]> {
    if (instanceKeys.length === 0 || upToJobKey <= afterJobKey) return [];
    return (await this.#pool.query<QueuedJob>(QueueSql.queuedOf, [instanceKeys, afterJobKey, upToJobKey, limit])).rows;
  }

  held(): ReadonlySet<number> {
    return this.#held;
  }

  async recordHealth(statuses: ReadonlyArray<{ instanceKey: number; status: InstanceStatus }>, now: number): Promise<void> {
    if (statuses.length === 0) return;
    await this.#pool.query(HealthSql.record, [statuses.map((s) => s.instanceKey), statuses.map((s) => s.status), now, this.identity.workerId]);
  }

  async cancelRequested(jobKeys: readonly number[]): Promise<number[]> {
    if (jobKeys.length === 0) return [];
    return (await this.#pool.query<{ id: number }>(QueueSql.cancelRequested, [jobKeys])).rows.map((r) => r.id);
  }

  async takeReboots(): Promise<number[]> {
    return (await this.#pool.query<{ id: number }>(HealthSql.takeReboots, [this.identity.workerId])).rows.map((r) => r.id);
  }

  async leave(): Promise<void> {
    await inTransaction(this.#pool, async (c) => {
      await c.query(LeaseSql.leave, [this.identity.workerId]);
      await c.query(LeaseSql.forget, [this.identity.workerId]);
    });
    this.#held = new Set();
    this.#epochs = new Map();
  }
}

function ascending(ids: Iterable<number>): number[] {
  return [...ids].sort((a, b) => a - b);
}
