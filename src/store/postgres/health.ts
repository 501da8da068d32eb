// Instance health shared through the database: what API nodes read (SharedHealth). The worker's
// side (recordHealth, takeReboots) is on its leases (leases.ts): only the holder of an instance
// measures it and reboots it.
import type pg from 'pg';
import type { InstanceStatus } from '../../core/index.js';
import type { SharedHealth } from '../types.js';
import { HealthSql } from './health.sql.js';

export class StoredHealth implements SharedHealth {
  readonly #pool: pg.Pool;
  /** told of a reboot asked for (the change feed: the holder hears at once) */
  readonly #asked: (instanceId: string) => void;

  constructor(pool: pg.Pool, asked: (instanceId: string) => void) {
    this.#pool = pool;
    this.#asked = asked;
  }

  async read(since?: number): Promise<Array<{ instanceId: string; status: InstanceStatus; at: number | null }>> {
    type Row = { instanceId: string; status: InstanceStatus; at: number | null };
    return (since === undefined ? await this.#pool.query<Row>(HealthSql.read) : await this.#pool.query<Row>(HealthSql.readSince, [since])).rows;
  }

  async requestReboot(instanceKey: number, now: number): Promise<boolean> {
    const row = (await this.#pool.query<{ instanceId: string }>(HealthSql.requestReboot, [instanceKey, now])).rows[0];
    if (row === undefined) return false;
    this.#asked(row.instanceId);
    return true;
  }
}
