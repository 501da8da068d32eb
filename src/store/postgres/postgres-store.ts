// The Store on PostgreSQL (pg): a connection pool, the schema chosen at creation, migrations under
// an advisory lock at open. The work is split by concern as in the SQLite store: registry.ts
// (tenants, tokens, instances), write-batch.ts with task-writer.ts and queue.ts (createTask,
// markRunning and finishJobs share one transaction), tasks.ts (reads), queue-horizon.ts (the
// worker's read of the queue), change-relay.ts (the change feed across processes), audit.ts (the
// audit log, appended by the write batch). This class
// opens the pool, hands each concern what it needs, and is the one place a call passes after its
// transaction has committed, where it tells the change feed.
import type pg from 'pg';
import { LocalChangeFeed } from '../changes.js';
import { StoreError, StoreErrorCode, storeError } from '../errors.js';
import type {
  Artifact,
  AuditEntry,
  AuditQuery,
  AuditRecord,
  CommitObserver,
  CreatedTask,
  Instance,
  InstanceTarget,
  JobArtifact,
  JobOutput,
  JobResult,
  JobView,
  NewTask,
  Page,
  Principal,
  QueuedJob,
  SharedHealth,
  SharedRateLimiter,
  Store,
  StoreStats,
  TaskSummary,
  TaskView,
  Tenant,
  WorkerIdentity,
  WorkerLeases,
} from '../types.js';
import { Artifacts } from './artifacts.js';
import { listAudit, purgeAudit } from './audit.js';
import { ChangeRelay } from './change-relay.js';
import { checkUrl, createPool, describeUrl } from './db.js';
import { MetaSql } from './meta.sql.js';
import { checkSchemaName, migrate } from './migrations.js';
import { StoredHealth } from './health.js';
import { Leadership } from './leadership.js';
import { Leases } from './leases.js';
import { SharedBucket } from './rate-limit.js';
import { cancelTask, interruptRunning, purgeTasks, queuedJobsIn } from './queue.js';
import { QueueHorizon } from './queue-horizon.js';
import { Registry, type CancelledRows } from './registry.js';
import { Tasks } from './tasks.js';
import { WriteBatch } from './write-batch.js';

export interface PostgresStoreOptions {
  /** postgres://user:password@host:port/database */
  url: string;
  /** the schema holding the tables (created if missing); default "public" */
  schema?: string;
  /** pooled connections; default 10 */
  poolSize?: number;
  /** the clock for created_at and the idempotency window (tests move it); Date.now by default */
  clock?: () => number;
  /** told of each shared commit (write-batch.ts), for metrics: it runs once per commit, so cheap */
  onCommit?: CommitObserver;
}

export function createPostgresStore(options: PostgresStoreOptions): Store {
  const schema = options.schema ?? 'public';
  checkSchemaName(schema);
  checkUrl(options.url);
  return new PostgresStore(options.url, schema, options.poolSize ?? 10, options.clock ?? Date.now, options.onCommit ?? null);
}

/** What an open store works with; null while closed. */
interface Open {
  pool: pg.Pool;
  registry: Registry;
  writes: WriteBatch;
  tasks: Tasks;
  artifacts: Artifacts;
  horizon: QueueHorizon;
  relay: ChangeRelay;
  leadership: Leadership;
}

class PostgresStore implements Store {
  readonly dialect = 'postgres' as const;
  readonly changes = new LocalChangeFeed();
  readonly #url: string;
  readonly #schema: string;
  readonly #poolSize: number;
  readonly #clock: () => number;
  readonly #onCommit: CommitObserver | null;
  #open: Open | null = null;
  /** set once this store joined as a worker: its markRunning and queuedJobs go by its leases */
  #leases: Leases | null = null;
  #opening: Promise<void> | null = null;
  #probe = 0;

  constructor(url: string, schema: string, poolSize: number, clock: () => number, onCommit: CommitObserver | null) {
    this.#url = url;
    this.#schema = schema;
    this.#poolSize = poolSize;
    this.#clock = clock;
    this.#onCommit = onCommit;
  }

  open(): Promise<void> {
    if (this.#open !== null) return Promise.resolve();
    this.#opening ??= this.#doOpen().finally(() => {
      this.#opening = null;
    });
    return this.#opening;
  }

  async #doOpen(): Promise<void> {
    const connect = { url: this.#url, schema: this.#schema };
    const pool = createPool({ ...connect, max: this.#poolSize });
    let relay: ChangeRelay | null = null;
    try {
      await migrate(pool, this.#schema);
      relay = new ChangeRelay(this.changes, pool, connect);
      await relay.start();
    } catch (err) {
      await relay?.stop();
      await pool.end().catch(() => {});
      throw new Error(`cannot open the PostgreSQL store at ${describeUrl(this.#url)} (schema ${this.#schema}): ${(err as Error).message}`, {
        cause: err,
      });
    }
    const r = relay;
    this.#open = {
      pool,
      registry: new Registry(pool, this.#clock),
      writes: new WriteBatch(
        pool,
        this.#clock,
        (c) => {
          if (c.lastQueued !== null) r.queued(c.lastQueued);
          r.taskChanged(c.tasks);
        },
        this.#onCommit,
      ),
      tasks: new Tasks(pool),
      artifacts: new Artifacts(pool),
      horizon: new QueueHorizon(pool, (lastKey) => this.changes.queued(lastKey)),
      relay,
      leadership: new Leadership(connect),
    };
  }

  async close(): Promise<void> {
    await this.#opening?.catch(() => {});
    const o = this.#open;
    if (o === null) return;
    this.#open = null;
    await o.writes.drain();
    await o.leadership.close();
    o.horizon.stop();
    await o.relay.stop();
    await o.pool.end();
  }

  /** A write read back (one statement, RETURNING) on a pooled connection: the server answers and takes writes. */
  async ping(): Promise<void> {
    const value = `${process.pid}:${++this.#probe}`;
    const row = (await this.#o().pool.query<{ value: string }>(MetaSql.probe, [value])).rows[0];
    if (row?.value !== value) throw new Error(`the store read back ${JSON.stringify(row?.value)} after writing ${value}`);
  }

  // --- tenants and tokens ---

  async createTenant(name: string): Promise<Tenant> {
    return this.#o().registry.createTenant(name);
  }

  async getTenant(tenantId: string): Promise<Tenant | null> {
    return this.#o().registry.getTenant(tenantId);
  }

  async listTenants(): Promise<Tenant[]> {
    return this.#o().registry.listTenants();
  }

  async addToken(tenantId: string, tokenHash: Buffer, prefix: string): Promise<void> {
    return this.#o().registry.addToken(tenantId, tokenHash, prefix);
  }

  async revokeToken(tenantId: string, prefix: string): Promise<number> {
    return this.#o().registry.revokeToken(tenantId, prefix);
  }

  async findToken(tokenHash: Buffer): Promise<(Principal & { tokenHash: Buffer }) | null> {
    return this.#o().registry.findToken(tokenHash);
  }

  // --- instances ---

  async createInstance(instance: Omit<Instance, 'createdAt'>): Promise<Instance> {
    const o = this.#o();
    const created = await o.registry.createInstance(instance);
    o.relay.instancesChanged([created.instanceId]);
    return created;
  }

  async createInstances(instances: ReadonlyArray<Omit<Instance, 'createdAt'>>): Promise<Instance[]> {
    const o = this.#o();
    const created = await o.registry.createInstances(instances);
    o.relay.instancesChanged(created.map((i) => i.instanceId));
    return created;
  }

  async assignInstance(instanceId: string, tenantId: string | null): Promise<Instance> {
    const o = this.#o();
    const { instance, cancelled } = await o.registry.assignInstance(instanceId, tenantId);
    this.#cancelledOnInstance(o, cancelled);
    o.relay.instancesChanged([instanceId]);
    return instance;
  }

  async deleteInstance(instanceId: string): Promise<void> {
    const o = this.#o();
    this.#cancelledOnInstance(o, await o.registry.deleteInstance(instanceId));
    o.relay.instancesChanged([instanceId]);
  }

  async listInstances(): Promise<Instance[]> {
    return this.#o().registry.listInstances();
  }

  async getInstance(instanceId: string): Promise<Instance | null> {
    return this.#o().registry.getInstance(instanceId);
  }

  async listTargets(): Promise<InstanceTarget[]> {
    return this.#o().registry.listTargets();
  }

  async instanceTargets(instanceIds: readonly string[]): Promise<InstanceTarget[]> {
    return this.#o().registry.instanceTargets(instanceIds);
  }

  async ownedInstances(tenantKey: number, instanceIds: readonly string[]): Promise<InstanceTarget[]> {
    return this.#o().registry.ownedInstances(tenantKey, instanceIds);
  }

  async pageInstances(
    tenantKey: number,
    q: { pageNo: number; pageSize: number; instanceId?: string; instanceName?: string },
  ): Promise<Page<Instance>> {
    return this.#o().registry.pageInstances(tenantKey, q);
  }

  // --- tasks ---

  createTask(task: NewTask): Promise<CreatedTask> {
    const open = this.#open;
    return open === null ? Promise.reject(storeError.closed()) : open.writes.createTask(task);
  }

  async getTask(tenantKey: number, taskId: string): Promise<TaskView | null> {
    return this.#o().tasks.getTask(tenantKey, taskId);
  }

  async findRequest(tenantKey: number, requestId: string, requestHash: string): Promise<CreatedTask | null> {
    return this.#o().tasks.findRequest(tenantKey, requestId, requestHash, this.#clock());
  }

  async advancedJobs(taskKey: number, fromJobKey: number, seen: string): Promise<JobView[] | null> {
    return this.#o().tasks.advancedJobs(taskKey, fromJobKey, seen);
  }

  async listTasks(tenantKey: number, limit: number, cursor: string | null): Promise<{ tasks: TaskSummary[]; nextCursor: string | null }> {
    return this.#o().tasks.listTasks(tenantKey, limit, cursor);
  }

  async getJobOutput(tenantKey: number, taskId: string, jobId: string): Promise<JobOutput | null> {
    return this.#o().tasks.getJobOutput(tenantKey, taskId, jobId);
  }

  async getJobArtifact(tenantKey: number, taskId: string, jobId: string): Promise<{ artifact: JobArtifact | null } | null> {
    return this.#o().tasks.getJobArtifact(tenantKey, taskId, jobId);
  }

  // --- artifacts ---

  async putArtifact(tenantKey: number, file: { sha256: string; size: number; contentType: string }, now: number): Promise<Artifact & { created: boolean }> {
    return this.#o().artifacts.put(tenantKey, file, now);
  }

  async getArtifact(tenantKey: number, artifactId: string): Promise<Artifact | null> {
    return this.#o().artifacts.get(tenantKey, artifactId);
  }

  async purgeArtifacts(before: number, batchSize: number): Promise<number> {
    return this.#o().artifacts.purge(before, batchSize);
  }

  async referencedBlobs(sha256s: readonly string[]): Promise<Set<string>> {
    return this.#o().artifacts.referenced(sha256s);
  }

  // --- the queue ---

  async interruptRunning(now: number): Promise<number> {
    const o = this.#o();
    const failed = await interruptRunning(o.pool, now);
    o.relay.taskChanged(new Set(failed.map((r) => r.task)));
    return failed.length;
  }

  sharedHealth(): SharedHealth {
    const o = this.#o();
    return new StoredHealth(o.pool, (instanceId) => o.relay.instancesChanged([instanceId]));
  }

  async tryLead(role: 'retention'): Promise<boolean> {
    return this.#o().leadership.tryLead(role);
  }

  sharedRateLimiter(perSecond: number, burst: number): SharedRateLimiter {
    return new SharedBucket(this.#o().pool, perSecond, burst);
  }

  joinAsWorker(identity: WorkerIdentity): WorkerLeases {
    const o = this.#o();
    if (this.#leases !== null) throw new StoreError(StoreErrorCode.InvalidArgument, `this store already joined as worker ${this.#leases.identity.workerId}`);
    this.#leases = new Leases(o.pool, o.horizon, identity, (failed) => o.relay.taskChanged(new Set(failed.map((r) => r.task))));
    return this.#leases;
  }

  async queuedJobs(afterJobKey: number, limit: number): Promise<QueuedJob[]> {
    return this.#o().horizon.queuedJobs(afterJobKey, limit, this.#leaseOwner());
  }

  async queuedJobsIn(jobKeys: readonly number[]): Promise<QueuedJob[]> {
    return queuedJobsIn(this.#o().pool, jobKeys);
  }

  async markRunning(jobKeys: readonly number[], now: number): Promise<number[]> {
    const o = this.#o();
    return jobKeys.length > 0 ? o.writes.markRunning(jobKeys, now, this.#leaseOwner()) : [];
  }

  async finishJobs(results: readonly JobResult[]): Promise<void> {
    const o = this.#o();
    if (results.length > 0) await o.writes.finishJobs(results);
  }

  async cancelTask(
    tenantKey: number,
    taskId: string,
    now: number,
  ): Promise<{ taskKey: number; cancelledQueued: number[]; running: number[] } | null> {
    const o = this.#o();
    const res = await cancelTask(o.pool, tenantKey, taskId, now);
    if (res === null) return null;
    o.relay.cancelled({ queued: res.cancelledQueued, running: res.running });
    if (res.cancelledQueued.length > 0) o.relay.taskChanged([res.taskKey]);
    return res;
  }

  // --- the audit log ---

  appendAudit(entry: AuditEntry): Promise<void> {
    // Not async, as createTask: one promise per request, the writer's.
    const open = this.#open;
    return open === null ? Promise.reject(storeError.closed()) : open.writes.appendAudit(entry);
  }

  async listAudit(query: AuditQuery, limit: number, cursor: string | null): Promise<{ entries: AuditRecord[]; nextCursor: string | null }> {
    return listAudit(this.#o().pool, query, limit, cursor);
  }

  stats(): StoreStats {
    return this.#o().writes.stats();
  }

  // --- retention ---

  async purgeTasks(before: number, batchSize: number): Promise<number> {
    const o = this.#o();
    const purged = await purgeTasks(o.pool, before, batchSize);
    // A watcher of a purged task reads null: nothing more will happen to it.
    o.relay.taskChanged(purged);
    return purged.length;
  }

  async purgeAudit(before: number, batchSize: number): Promise<number> {
    return purgeAudit(this.#o().pool, before, batchSize);
  }

  #cancelledOnInstance(o: Open, rows: CancelledRows): void {
    if (rows.length === 0) return;
    o.relay.cancelled({ queued: rows.map((r) => r.id), running: [] });
    o.relay.taskChanged(new Set(rows.map((r) => r.task)));
  }

  #leaseOwner(): string | null {
    return this.#leases?.identity.workerId ?? null;
  }

  #o(): Open {
    if (this.#open === null) throw storeError.closed();
    return this.#open;
  }
}
