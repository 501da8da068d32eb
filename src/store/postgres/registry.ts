// Tenants, their tokens, and instances: the operator's side of the store. No in-memory index of
// instances here (SQLite's instance-index.ts): several processes share the database, so an index
// in one of them would miss the others' changes. Ownership is read from the table each time
// (instances_tenant, one indexed query for up to 100 ids), and createTask checks it again inside
// its writing transaction (task-writer.ts) under its tenant's lock, which an ownership change
// takes exclusive (assignInstance, deleteInstance below).
import type pg from 'pg';
import { newTenantId } from '../../core/index.js';
import { StoreError, StoreErrorCode, storeError } from '../errors.js';
import type { Instance, InstanceTarget, Page, Principal, Tenant } from '../types.js';
import { inTransaction, type Queryable } from './db.js';
import { InstanceSql } from './instances.sql.js';
import { QueueSql } from './queue.sql.js';
import { TenantSql, TokenSql } from './tenants.sql.js';
import { TxSql } from './tx.sql.js';

type TenantRow = Tenant & { id: number };

/** Jobs an instance change cancelled, with their tasks (what the change feed publishes). */
export type CancelledRows = Array<{ id: number; task: number }>;

type NewInstance = Omit<Instance, 'createdAt'>;

export class Registry {
  readonly #pool: pg.Pool;
  readonly #clock: () => number;

  constructor(pool: pg.Pool, clock: () => number) {
    this.#pool = pool;
    this.#clock = clock;
  }

  // --- tenants and tokens ---

  async createTenant(name: string): Promise<Tenant> {
    const tenant: Tenant = { tenantId: newTenantId(), name, createdAt: this.#clock() };
    await this.#pool.query(TenantSql.insert, [tenant.tenantId, tenant.name, tenant.createdAt]);
    return tenant;
  }

  async getTenant(tenantId: string): Promise<Tenant | null> {
    const row = await this.#tenantRow(this.#pool, tenantId);
    return row === undefined ? null : { tenantId: row.tenantId, name: row.name, createdAt: row.createdAt };
  }

  async listTenants(): Promise<Tenant[]> {
    return (await this.#pool.query<Tenant>(TenantSql.list)).rows;
  }

  async addToken(tenantId: string, tokenHash: Buffer, prefix: string): Promise<void> {
    const tenant = await this.#tenantKey(this.#pool, tenantId);
    await this.#pool.query(TokenSql.insert, [tokenHash, prefix, tenant, this.#clock()]);
  }

  async revokeToken(tenantId: string, prefix: string): Promise<number> {
    const tenant = await this.#tenantKey(this.#pool, tenantId);
    return (await this.#pool.query(TokenSql.revoke, [this.#clock(), tenant, prefix])).rowCount ?? 0;
  }

  async findToken(tokenHash: Buffer): Promise<(Principal & { tokenHash: Buffer }) | null> {
    // Named (prepared once per connection, see task-writer.ts): read for every tenant request.
    return (await this.#pool.query<Principal & { tokenHash: Buffer }>({ name: 'tokens-find-live', text: TokenSql.findLive, values: [tokenHash] })).rows[0] ?? null;
  }

  // --- instances ---

  async createInstance(instance: NewInstance): Promise<Instance> {
    const tenantKey = instance.tenantId === null ? null : await this.#tenantKey(this.#pool, instance.tenantId);
    const createdAt = this.#clock();
    const r = await this.#pool.query(InstanceSql.insert, [
      instance.instanceId,
      instance.adbAddress,
      instance.instanceName,
      instance.zone,
      tenantKey,
      createdAt,
    ]);
    if (r.rowCount !== 1) throw storeError.instanceExists(instance.instanceId);
    const { instanceId, adbAddress, instanceName, zone, tenantId } = instance;
    return { instanceId, adbAddress, instanceName, zone, tenantId, createdAt };
  }

  /** All or none, one statement in one transaction; the error names each id live already or repeated. */
  async createInstances(instances: readonly NewInstance[]): Promise<Instance[]> {
    if (instances.length === 0) return [];
    const tenantKeys = new Map<string, number>();
    for (const { tenantId } of instances) {
      if (tenantId !== null && !tenantKeys.has(tenantId)) tenantKeys.set(tenantId, await this.#tenantKey(this.#pool, tenantId));
    }
    const createdAt = this.#clock();
    await inTransaction(this.#pool, async (c) => {
      const r = await c.query<{ instanceId: string }>(InstanceSql.insertMany, [
        instances.map((i) => i.instanceId),
        instances.map((i) => i.adbAddress),
        instances.map((i) => i.instanceName),
        instances.map((i) => i.zone),
        instances.map((i) => (i.tenantId === null ? null : tenantKeys.get(i.tenantId)!)),
        createdAt,
      ]);
      if (r.rows.length === instances.length) return;
      // Rows go in in batch order, so of repeated ids the first went in: the ones not inserted,
      // in order, are those live already and the repeats.
      const inserted = new Set(r.rows.map((x) => x.instanceId));
      const existing: string[] = [];
      for (const i of instances) {
        if (inserted.has(i.instanceId)) inserted.delete(i.instanceId);
        else if (!existing.includes(i.instanceId)) existing.push(i.instanceId);
      }
      throw storeError.instancesExist(existing);
    });
    return instances.map(({ instanceId, adbAddress, instanceName, zone, tenantId }) => ({
      instanceId,
      adbAddress,
      instanceName,
      zone,
      tenantId,
      createdAt,
    }));
  }

  /** The instance as stored, and the jobs of other tenants the change cancelled. */
  async assignInstance(instanceId: string, tenantId: string | null): Promise<{ instance: Instance; cancelled: CancelledRows }> {
    return inTransaction(this.#pool, async (c) => {
      let tenantKey: number | null = null;
      if (tenantId !== null) {
        const t = await this.#tenantRow(c, tenantId);
        if (t === undefined) {
          // A missing instance is reported first, as when no tenant is named.
          if ((await c.query(InstanceSql.exists, [instanceId])).rowCount === 0) throw storeError.noInstance(instanceId);
          throw storeError.noTenant(tenantId);
        }
        tenantKey = t.id;
      }
      const row = await this.#lockOwners(c, instanceId, tenantKey);
      await c.query(InstanceSql.setTenant, [tenantKey, row.id]);
      const cancelled = (await c.query<{ id: number; task: number }>(QueueSql.cancelQueuedOnInstance, [this.#clock(), row.id, tenantKey])).rows;
      const instance = (await c.query<Instance>(InstanceSql.one, [instanceId])).rows[0]!;
      return { instance, cancelled };
    });
  }

  /** The jobs the deletion cancelled. */
  async deleteInstance(instanceId: string): Promise<CancelledRows> {
    const now = this.#clock();
    return inTransaction(this.#pool, async (c) => {
      const row = await this.#lockOwners(c, instanceId, null);
      await c.query(InstanceSql.softDelete, [now, row.id]);
      return (await c.query<{ id: number; task: number }>(QueueSql.cancelQueuedOnInstance, [now, row.id, null])).rows;
    });
  }

  /**
   * Locks the live instance's row, then its old and new owners exclusive (tx.sql.ts): a submit of
   * either tenant in flight commits first, so the cancel that follows sees its jobs; one that
   * starts later checks ownership after this change commits. Throws NO_INSTANCE.
   */
  async #lockOwners(c: Queryable, instanceId: string, newTenant: number | null): Promise<{ id: number }> {
    const row = (await c.query<{ id: number; tenant: number | null }>(InstanceSql.lockLive, [instanceId])).rows[0];
    if (row === undefined) throw storeError.noInstance(instanceId);
    const tenants = [row.tenant, newTenant].filter((k): k is number => k !== null);
    if (tenants.length > 0) await c.query(TxSql.lockTenantsExclusive, [[...new Set(tenants)]]);
    return row;
  }

  async listInstances(): Promise<Instance[]> {
    return (await this.#pool.query<Instance>(InstanceSql.list)).rows;
  }

  async getInstance(instanceId: string): Promise<Instance | null> {
    return (await this.#pool.query<Instance>(InstanceSql.one, [instanceId])).rows[0] ?? null;
  }

  async listTargets(): Promise<InstanceTarget[]> {
    return (await this.#pool.query<InstanceTarget>(InstanceSql.targets)).rows;
  }

  async instanceTargets(instanceIds: readonly string[]): Promise<InstanceTarget[]> {
    if (instanceIds.length === 0) return [];
    return inOrder(instanceIds, (await this.#pool.query<InstanceTarget>(InstanceSql.targetsOf, [instanceIds])).rows);
  }

  async ownedInstances(tenantKey: number, instanceIds: readonly string[]): Promise<InstanceTarget[]> {
    if (instanceIds.length === 0) return [];
    return owned(this.#pool, tenantKey, instanceIds);
  }

  async pageInstances(
    tenantKey: number,
    q: { pageNo: number; pageSize: number; instanceId?: string; instanceName?: string },
  ): Promise<Page<Instance>> {
    if (!(Number.isInteger(q.pageNo) && q.pageNo >= 1 && Number.isInteger(q.pageSize) && q.pageSize >= 1)) {
      throw new StoreError(StoreErrorCode.InvalidArgument, 'pageNo and pageSize must be positive integers');
    }
    const filter = [tenantKey, q.instanceId ?? null, q.instanceName ?? null];
    const items = (await this.#pool.query<Instance>(InstanceSql.page, [...filter, q.pageSize, (q.pageNo - 1) * q.pageSize])).rows;
    const { n } = (await this.#pool.query<{ n: number }>(InstanceSql.pageCount, filter)).rows[0]!;
    return { items, total: n };
  }

  /** The tenant's integer key; throws NO_TENANT. */
  async #tenantKey(c: Queryable, tenantId: string): Promise<number> {
    const t = await this.#tenantRow(c, tenantId);
    if (t === undefined) throw storeError.noTenant(tenantId);
    return t.id;
  }

  async #tenantRow(c: Queryable, tenantId: string): Promise<TenantRow | undefined> {
    return (await c.query<TenantRow>(TenantSql.byPublicId, [tenantId])).rows[0];
  }
}

/** The tenant's live instances among ids, in the order asked (one indexed query). */
export async function owned(c: Queryable, tenantKey: number, instanceIds: readonly string[]): Promise<InstanceTarget[]> {
  // Named (prepared once per connection, see task-writer.ts): read for every submit.
  const q = { name: 'instances-owned-of', text: InstanceSql.ownedOf, values: [tenantKey, instanceIds] };
  return inOrder(instanceIds, (await c.query<InstanceTarget>(q)).rows);
}

function inOrder(instanceIds: readonly string[], rows: InstanceTarget[]): InstanceTarget[] {
  const byId = new Map(rows.map((r) => [r.instanceId, r]));
  const out: InstanceTarget[] = [];
  for (const id of instanceIds) {
    const r = byId.get(id);
    if (r !== undefined) out.push(r);
  }
  return out;
}
