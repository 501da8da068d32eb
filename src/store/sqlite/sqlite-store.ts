// The Store on SQLite (better-sqlite3): one connection, synchronous calls behind the async
// interface. Reads run between write transactions on the same thread, so they always see
// committed data. The work is split by concern (registry.ts, task-writer.ts and tasks.ts,
// queue.ts, retention.ts); this class opens the database, hands each concern the connection and
// the statement cache, and is the one place a call passes after its transaction has committed.
import type Database from 'better-sqlite3';
import { storeError } from '../errors.js';
import type {
  CreatedTask,
  Instance,
  InstanceTarget,
  JobOutput,
  JobResult,
  NewTask,
  Page,
  Principal,
  QueuedJob,
  Store,
  TaskSummary,
  TaskView,
  Tenant,
} from '../types.js';
import { openDatabase, StatementCache, type Synchronous } from './db.js';
import { InstanceIndex, type InstanceIndexRow } from './instance-index.js';
import { InstanceSql } from './instances.sql.js';
import { migrate } from './migrations.js';
import { Queue } from './queue.js';
import { Registry } from './registry.js';
import { purgeTasks } from './retention.js';
import { TaskWriter } from './task-writer.js';
import { Tasks } from './tasks.js';

export interface SqliteStoreOptions {
  /** a file path, or ':memory:' */
  path: string;
  /** FULL (default) survives power loss; NORMAL survives process crashes only */
  synchronous?: Synchronous;
  /** the clock for created_at and the idempotency window (tests move it); Date.now by default */
  clock?: () => number;
}

export function createSqliteStore(options: SqliteStoreOptions): Store {
  return new SqliteStore(options.path, options.synchronous ?? 'FULL', options.clock ?? Date.now);
}

const PING = 'SELECT 1';

/** What an open store works with; null while closed. */
interface Open {
  db: Database.Database;
  stmts: StatementCache;
  registry: Registry;
  writer: TaskWriter;
  tasks: Tasks;
  queue: Queue;
}

class SqliteStore implements Store {
  readonly dialect = 'sqlite' as const;
  readonly #path: string;
  readonly #synchronous: Synchronous;
  readonly #clock: () => number;
  #open: Open | null = null;

  constructor(path: string, synchronous: Synchronous, clock: () => number) {
    this.#path = path;
    this.#synchronous = synchronous;
    this.#clock = clock;
  }

  async open(): Promise<void> {
    if (this.#open !== null) return;
    const db = openDatabase(this.#path, this.#synchronous);
    try {
      migrate(db);
    } catch (err) {
      db.close();
      throw err;
    }
    const stmts = new StatementCache(db);
    const index = new InstanceIndex();
    index.load(stmts.get(InstanceSql.index).all() as InstanceIndexRow[]);
    this.#open = {
      db,
      stmts,
      registry: new Registry(db, stmts, this.#clock, index),
      writer: new TaskWriter(db, stmts, this.#clock, index),
      tasks: new Tasks(stmts),
      queue: new Queue(db, stmts),
    };
  }

  async close(): Promise<void> {
    const o = this.#open;
    if (o === null) return;
    o.writer.drain();
    o.db.close();
    this.#open = null;
  }

  async ping(): Promise<void> {
    this.#o().stmts.get(PING).get();
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
    this.#o().registry.addToken(tenantId, tokenHash, prefix);
  }

  async revokeToken(tenantId: string, prefix: string): Promise<number> {
    return this.#o().registry.revokeToken(tenantId, prefix);
  }

  async findToken(tokenHash: Buffer): Promise<(Principal & { tokenHash: Buffer }) | null> {
    return this.#o().registry.findToken(tokenHash);
  }

  // --- instances ---

  async createInstance(instance: Omit<Instance, 'createdAt'>): Promise<Instance> {
    return this.#o().registry.createInstance(instance);
  }

  async assignInstance(instanceId: string, tenantId: string | null): Promise<Instance> {
    return this.#o().registry.assignInstance(instanceId, tenantId).instance;
  }

  async deleteInstance(instanceId: string): Promise<void> {
    this.#o().registry.deleteInstance(instanceId);
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
    // Not async: one promise per request, the writer's, on the submit path.
    const open = this.#open;
    return open === null ? Promise.reject(storeError.closed()) : open.writer.submit(task);
  }

  async getTask(tenantKey: number, taskId: string): Promise<TaskView | null> {
    return this.#o().tasks.getTask(tenantKey, taskId);
  }

  async listTasks(
    tenantKey: number,
    limit: number,
    cursor: string | null,
  ): Promise<{ tasks: TaskSummary[]; nextCursor: string | null }> {
    return this.#o().tasks.listTasks(tenantKey, limit, cursor);
  }

  async getJobOutput(tenantKey: number, taskId: string, jobId: string): Promise<JobOutput | null> {
    return this.#o().tasks.getJobOutput(tenantKey, taskId, jobId);
  }

  // --- the queue ---

  async interruptRunning(now: number): Promise<number> {
    return this.#o().queue.interruptRunning(now).length;
  }

  async queuedJobs(afterJobKey: number, limit: number): Promise<QueuedJob[]> {
    return this.#o().queue.queuedJobs(afterJobKey, limit);
  }

  async markRunning(jobKeys: readonly number[], now: number): Promise<number[]> {
    return this.#o().queue.markRunning(jobKeys, now);
  }

  async finishJobs(results: readonly JobResult[]): Promise<void> {
    this.#o().queue.finishJobs(results);
  }

  async cancelTask(
    tenantKey: number,
    taskId: string,
    now: number,
  ): Promise<{ taskKey: number; cancelledQueued: number[]; running: number[] } | null> {
    return this.#o().queue.cancelTask(tenantKey, taskId, now);
  }

  // --- retention ---

  async purgeTasks(before: number, batchSize: number): Promise<number> {
    const o = this.#o();
    return purgeTasks(o.db, o.stmts, before, batchSize).length;
  }

  #o(): Open {
    if (this.#open === null) throw storeError.closed();
    return this.#open;
  }
}
