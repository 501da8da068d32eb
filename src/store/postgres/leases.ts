// Instance leases for several workers on one database. A worker holds a lease per instance and is
// the only one to start that instance's jobs (markRunning checks the lease, queue.sql.ts), so
// per-instance FIFO and concurrency stay one dispatcher's, across any number of workers. A lease
// lasts while its worker's heartbeat does. Each round, one transaction:
// 1. heartbeat (the workers table), which renews every lease of this worker;
// 2. rescue: free every lease of a worker whose heartbeat lapsed, any zone's, failing the running
//    jobs of its instances 1006 (they may have run; they are never run again). Rows are taken FOR
//    UPDATE SKIP LOCKED, so two workers never rescue one instance twice, and a job's guarded state
//    change is the last net. Not in the lease after a gap in this worker's rounds (the database
//    restarted, or out of its reach): the others' heartbeats may have lapsed for the same reason,
//    and the first worker back would fail all their running jobs 1006. It lets them renew first;
//    a worker that really died is rescued one lease later;
// 3. per zone it serves, its share is ceil(live instances of the zone / live workers serving the
//    zone): zone by zone, so workers with overlapping zone sets (one of every zone beside one of
//    zone b) hold every instance between them. It releases idle instances past its share, highest
//    keys first, so a worker that joins finds instances free, and those of zones it no longer
//    serves;
// 4. claims free instances of a zone up to its share, failing running jobs found on them
//    (orphans: a worker stopped before their results were written).
// Clocks: lapse is judged by the `now` of whoever looks, so nodes' clocks must agree to well
// within a lease (NTP does). The worker stops its own jobs before its lease can lapse when it
// cannot renew (LeaseKeeper's fence, src/dispatch/lease-keeper.ts).
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
      const failed = rescuing ? (await c.query<Moved>(LeaseSql.rescue, [now, message])).rows : [];
      await c.query(LeaseSql.forgetWorkers, [now - FORGET_MS]);
      const held = new Map((await c.query<Lease & { zone: string }>(LeaseSql.held, [workerId])).rows.map((r) => [r.id, r]));
      for (const r of (await c.query<{ id: number }>(LeaseSql.releaseDeleted, [workerId])).rows) held.delete(r.id);
      const heldIn = new Map<string, number>();
      for (const { zone } of held.values()) heldIn.set(zone, (heldIn.get(zone) ?? 0) + 1);
      const shares = new Map<string, number>();
      for (const r of (await c.query<{ zone: string; instances: number; workers: number }>(LeaseSql.shares, [zones, now])).rows) {
        shares.set(r.zone, Math.ceil(r.instances / Math.max(1, r.workers)));
      }
      const claimed: number[] = [];
      for (const zone of new Set([...heldIn.keys(), ...shares.keys()])) {
        const have = heldIn.get(zone) ?? 0;
        const share = shares.get(zone) ?? 0;
        if (have > share) {
          for (const r of (await c.query<{ id: number }>(LeaseSql.release, [workerId, zone, have - share])).rows) held.delete(r.id);
        } else if (have < share) {
          for (const r of (await c.query<Lease & { zone: string }>(LeaseSql.claim, [workerId, zone, share - have])).rows) {
            held.set(r.id, r);
            claimed.push(r.id);
          }
        }
      }
      if (claimed.length > 0) failed.push(...(await c.query<Moved>(LeaseSql.interruptOrphans, [claimed, message, now])).rows);
      return [new Map([...held.values()].map((r) => [r.id, r.epoch])), failed] as const;
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
    // Not named: a generic plan, blind to how wide the key range is, reads every queued job in it
    // and sorts them, where the plan for the actual range walks jobs_queued in order and stops.
    return (await this.#pool.query<QueuedJob>(QueueSql.queuedOf, [instanceKeys, afterJobKey, upToJobKey, limit])).rows;
  }

  forfeit(): number[] {
    const held = ascending(this.#epochs.keys());
    this.#epochs = new Map();
    this.#held = new Set();
    return held;
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
