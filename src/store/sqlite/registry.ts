// Tenants, their tokens, and instances: the operator's side of the store. Every instance change
// also updates the in-memory ownership index (instance-index.ts) right after it commits.
import type Database from 'better-sqlite3';
import { newTenantId } from '../../core/index.js';
import { StoreError, StoreErrorCode, storeError } from '../errors.js';
import type { Instance, InstanceTarget, Page, Principal, Tenant } from '../types.js';
import type { StatementCache } from './db.js';
import type { InstanceIndex } from './instance-index.js';
import { InstanceSql } from './instances.sql.js';
import { QueueSql } from './queue.sql.js';
import { TenantSql, TokenSql } from './tenants.sql.js';

type TenantRow = Tenant & { id: number };

/** Jobs an instance change cancelled, with their tasks (what a change feed will publish). */
export type CancelledRows = Array<{ id: number; task: number }>;

export class Registry {
  readonly #db: Database.Database;
  readonly #stmts: StatementCache;
  readonly #clock: () => number;
  readonly #index: InstanceIndex;

  constructor(db: Database.Database, stmts: StatementCache, clock: () => number, index: InstanceIndex) {
    this.#db = db;
    this.#stmts = stmts;
    this.#clock = clock;
    this.#index = index;
  }

  // --- tenants and tokens ---

  createTenant(name: string): Tenant {
    const tenant: Tenant = { tenantId: newTenantId(), name, createdAt: this.#clock() };
    this.#stmts.get(TenantSql.insert).run(tenant.tenantId, tenant.name, tenant.createdAt);
    return tenant;
  }

  getTenant(tenantId: string): Tenant | null {
    const row = this.#tenantRow(tenantId);
    return row === undefined ? null : { tenantId: row.tenantId, name: row.name, createdAt: row.createdAt };
  }

  listTenants(): Tenant[] {
    return this.#stmts.get(TenantSql.list).all() as Tenant[];
  }

  addToken(tenantId: string, tokenHash: Buffer, prefix: string): void {
    this.#stmts.get(TokenSql.insert).run(tokenHash, prefix, this.#tenantKey(tenantId), this.#clock());
  }

  revokeToken(tenantId: string, prefix: string): number {
    return this.#stmts.get(TokenSql.revoke).run(this.#clock(), this.#tenantKey(tenantId), prefix).changes;
  }

  findToken(tokenHash: Buffer): (Principal & { tokenHash: Buffer }) | null {
    return (this.#stmts.get(TokenSql.findLive).get(tokenHash) as (Principal & { tokenHash: Buffer }) | undefined) ?? null;
  }

  // --- instances ---

  createInstance(instance: Omit<Instance, 'createdAt'>): Instance {
    const tenantKey = instance.tenantId === null ? null : this.#tenantKey(instance.tenantId);
    const createdAt = this.#clock();
    const r = this.#stmts
      .get(InstanceSql.insert)
      .run(instance.instanceId, instance.adbAddress, instance.instanceName, instance.zone, tenantKey, createdAt);
    if (r.changes !== 1) throw storeError.instanceExists(instance.instanceId);
    this.#index.added(instance.instanceId, Number(r.lastInsertRowid), tenantKey, instance.adbAddress);
    const { instanceId, adbAddress, instanceName, zone, tenantId } = instance;
    return { instanceId, adbAddress, instanceName, zone, tenantId, createdAt };
  }

  /**
   * All or none, in one transaction (one fsync for thousands). Every conflict is collected before
   * the rollback, so the error names each id that exists (or repeats an earlier one of the batch).
   */
  createInstances(instances: ReadonlyArray<Omit<Instance, 'createdAt'>>): Instance[] {
    const tenantKeys = new Map<string, number>();
    for (const { tenantId } of instances) {
      if (tenantId !== null && !tenantKeys.has(tenantId)) tenantKeys.set(tenantId, this.#tenantKey(tenantId));
    }
    const keyOf = (tenantId: string | null): number | null => (tenantId === null ? null : tenantKeys.get(tenantId)!);
    const createdAt = this.#clock();
    const insert = this.#stmts.get(InstanceSql.insert);
    const keys = this.#db
      .transaction(() => {
        const added: number[] = [];
        const existing: string[] = [];
        for (const i of instances) {
          const r = insert.run(i.instanceId, i.adbAddress, i.instanceName, i.zone, keyOf(i.tenantId), createdAt);
          if (r.changes === 1) added.push(Number(r.lastInsertRowid));
          else existing.push(i.instanceId);
        }
        if (existing.length > 0) throw storeError.instancesExist(existing);
        return added;
      })
      .immediate();
    return instances.map((i, n) => {
      this.#index.added(i.instanceId, keys[n]!, keyOf(i.tenantId), i.adbAddress);
      const { instanceId, adbAddress, instanceName, zone, tenantId } = i;
      return { instanceId, adbAddress, instanceName, zone, tenantId, createdAt };
    });
  }

  /** The instance as stored, and the jobs of other tenants the change cancelled. */
  assignInstance(instanceId: string, tenantId: string | null): { instance: Instance; cancelled: CancelledRows } {
    let tenantKey: number | null = null;
    if (tenantId !== null) {
      const t = this.#tenantRow(tenantId);
      if (t === undefined) {
        // A missing instance is reported first, as when no tenant is named.
        if (this.#stmts.get(InstanceSql.exists).get(instanceId) === undefined) throw storeError.noInstance(instanceId);
        throw storeError.noTenant(tenantId);
      }
      tenantKey = t.id;
    }
    const done = this.#db
      .transaction(() => {
        const row = this.#stmts.get(InstanceSql.assign).get(tenantKey, instanceId) as { id: number } | undefined;
        if (row === undefined) throw storeError.noInstance(instanceId);
        const cancelled = this.#stmts
          .get(QueueSql.cancelQueuedOnInstance)
          .all({ now: this.#clock(), instance: row.id, tenant: tenantKey }) as CancelledRows;
        return { instance: this.#stmts.get(InstanceSql.one).get(instanceId) as Instance, cancelled };
      })
      .immediate();
    this.#index.assigned(instanceId, tenantKey);
    return done;
  }

  /** The jobs the deletion cancelled. */
  deleteInstance(instanceId: string): CancelledRows {
    const now = this.#clock();
    const cancelled = this.#db
      .transaction(() => {
        const row = this.#stmts.get(InstanceSql.softDelete).get(now, instanceId) as { id: number } | undefined;
        if (row === undefined) throw storeError.noInstance(instanceId);
        return this.#stmts.get(QueueSql.cancelQueuedOnInstance).all({ now, instance: row.id, tenant: null }) as CancelledRows;
      })
      .immediate();
    this.#index.deleted(instanceId);
    return cancelled;
  }

  listInstances(): Instance[] {
    return this.#stmts.get(InstanceSql.list).all() as Instance[];
  }

  getInstance(instanceId: string): Instance | null {
    return (this.#stmts.get(InstanceSql.one).get(instanceId) as Instance | undefined) ?? null;
  }

  listTargets(): InstanceTarget[] {
    return this.#stmts.get(InstanceSql.targets).all() as InstanceTarget[];
  }

  instanceTargets(instanceIds: readonly string[]): InstanceTarget[] {
    return this.#index.targets(instanceIds);
  }

  ownedInstances(tenantKey: number, instanceIds: readonly string[]): InstanceTarget[] {
    return this.#index.owned(tenantKey, instanceIds);
  }

  pageInstances(
    tenantKey: number,
    q: { pageNo: number; pageSize: number; instanceId?: string; instanceName?: string },
  ): Page<Instance> {
    if (!(Number.isInteger(q.pageNo) && q.pageNo >= 1 && Number.isInteger(q.pageSize) && q.pageSize >= 1)) {
      throw new StoreError(StoreErrorCode.InvalidArgument, 'pageNo and pageSize must be positive integers');
    }
    const filter = { tenant: tenantKey, instanceId: q.instanceId ?? null, name: q.instanceName ?? null };
    const items = this.#stmts.get(InstanceSql.page).all({
      ...filter,
      limit: q.pageSize,
      offset: (q.pageNo - 1) * q.pageSize,
    }) as Instance[];
    const { n } = this.#stmts.get(InstanceSql.pageCount).get(filter) as { n: number };
    return { items, total: n };
  }

  /** The tenant's integer key; throws NO_TENANT. */
  #tenantKey(tenantId: string): number {
    const t = this.#tenantRow(tenantId);
    if (t === undefined) throw storeError.noTenant(tenantId);
    return t.id;
  }

  #tenantRow(tenantId: string): TenantRow | undefined {
    return this.#stmts.get(TenantSql.byPublicId).get(tenantId) as TenantRow | undefined;
  }
}
