// Tenants, their tokens, and instances: the operator's side of the store. Every instance change
// also updates the in-memory ownership index (instance-index.ts) right after it commits.
import type Database from 'better-sqlite3';
import { newTenantId } from '../../core/index.js';
import { StoreError, StoreErrorCode } from '../errors.js';
import type { Instance, InstanceTarget, Page, Principal, Tenant } from '../types.js';
import type { StatementCache } from './db.js';
import type { InstanceIndex } from './instance-index.js';
import { InstanceSql } from './instances.sql.js';
import { QueueSql } from './queue.sql.js';
import { TenantSql, TokenSql } from './tenants.sql.js';

type TenantRow = Tenant & { id: number };

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

  addToken(tenantId: string, tokenHash: Buffer, prefix: string): boolean {
    const t = this.#tenantRow(tenantId);
    if (t === undefined) return false;
    this.#stmts.get(TokenSql.insert).run(tokenHash, prefix, t.id, this.#clock());
    return true;
  }

  revokeToken(tenantId: string, prefix: string): number {
    const t = this.#tenantRow(tenantId);
    if (t === undefined) return 0;
    return this.#stmts.get(TokenSql.revoke).run(this.#clock(), t.id, prefix).changes;
  }

  findToken(tokenHash: Buffer): (Principal & { tokenHash: Buffer }) | null {
    return (this.#stmts.get(TokenSql.findLive).get(tokenHash) as (Principal & { tokenHash: Buffer }) | undefined) ?? null;
  }

  // --- instances ---

  createInstance(instance: Omit<Instance, 'createdAt'>): boolean {
    let tenantKey: number | null = null;
    if (instance.tenantId !== null) {
      const t = this.#tenantRow(instance.tenantId);
      if (t === undefined) throw new StoreError(StoreErrorCode.NoTenant, `tenant ${instance.tenantId} does not exist`);
      tenantKey = t.id;
    }
    const r = this.#stmts
      .get(InstanceSql.insert)
      .run(instance.instanceId, instance.adbAddress, instance.instanceName, instance.zone, tenantKey, this.#clock());
    if (r.changes !== 1) return false;
    this.#index.added(instance.instanceId, Number(r.lastInsertRowid), tenantKey, instance.adbAddress);
    return true;
  }

  assignInstance(instanceId: string, tenantId: string | null): 'ok' | 'no-instance' | 'no-tenant' {
    let tenantKey: number | null = null;
    if (tenantId !== null) {
      const t = this.#tenantRow(tenantId);
      if (t === undefined) {
        return this.#stmts.get(InstanceSql.exists).get(instanceId) !== undefined ? 'no-tenant' : 'no-instance';
      }
      tenantKey = t.id;
    }
    const changed = this.#db
      .transaction(() => {
        const row = this.#stmts.get(InstanceSql.assign).get(tenantKey, instanceId) as { id: number } | undefined;
        if (row === undefined) return false;
        this.#stmts.get(QueueSql.cancelQueuedOnInstance).run({ now: this.#clock(), instance: row.id, tenant: tenantKey });
        return true;
      })
      .immediate();
    if (!changed) return 'no-instance';
    this.#index.assigned(instanceId, tenantKey);
    return 'ok';
  }

  deleteInstance(instanceId: string): boolean {
    const now = this.#clock();
    const deleted = this.#db
      .transaction(() => {
        const row = this.#stmts.get(InstanceSql.softDelete).get(now, instanceId) as { id: number } | undefined;
        if (row === undefined) return false;
        this.#stmts.get(QueueSql.cancelQueuedOnInstance).run({ now, instance: row.id, tenant: null });
        return true;
      })
      .immediate();
    if (!deleted) return false;
    this.#index.deleted(instanceId);
    return true;
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

  #tenantRow(tenantId: string): TenantRow | undefined {
    return this.#stmts.get(TenantSql.byPublicId).get(tenantId) as TenantRow | undefined;
  }
}
