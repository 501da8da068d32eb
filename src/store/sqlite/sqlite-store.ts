// The Store on SQLite (better-sqlite3): one connection, synchronous calls behind the async
// interface. Reads run between write transactions on the same thread, so they always see
// committed data. The work is split by concern (registry.ts, task-writer.ts and tasks.ts,
// queue.ts, retention.ts); this class opens the database, hands each concern the connection and
// the statement cache, and is the one place a call passes after its transaction has committed,
// except for createTask, markRunning, finishJobs and appendAudit, which share one commit per turn
// of the event loop and are told after it by write-batch.ts.
import type Database from 'better-sqlite3';
import { LocalChangeFeed } from '../changes.js';
import { storeError } from '../errors.js';
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
  Store,
  StoreStats,
  TaskSummary,
  TaskView,
  Tenant,
} from '../types.js';
import { Artifacts } from './artifacts.js';
import { AuditLog } from './audit.js';
import { cannotOpen, openDatabase, StatementCache, type Synchronous } from './db.js';
import { FreshJobs } from './fresh-jobs.js';
import { checkIdentity, checkPresent, noteDamage, OpenFiles, readMarker, writeMarker } from './identity.js';
import { InstanceIndex, type InstanceIndexRow } from './instance-index.js';
import { InstanceSql } from './instances.sql.js';
import { MetaSql } from './meta.sql.js';
import { migrate } from './migrations.js';
import { Queue } from './queue.js';
import { QueueSql } from './queue.sql.js';
import { Registry, type CancelledRows } from './registry.js';
import { purgeAudit, purgeTasks } from './retention.js';
import { TaskWriter } from './task-writer.js';
import { Tasks } from './tasks.js';
import { WriteBatch } from './write-batch.js';

export interface SqliteStoreOptions {
  /** a file path, or ':memory:' */
  path: string;
  /** FULL (default) survives power loss; NORMAL survives process crashes only */
  synchronous?: Synchronous;
  /** the clock for created_at and the idempotency window (tests move it); Date.now by default */
  clock?: () => number;
  /** told of each shared commit (write-batch.ts), for metrics: it runs once per commit, so cheap */
  onCommit?: CommitObserver;
}

export function createSqliteStore(options: SqliteStoreOptions): Store {
  return new SqliteStore(options.path, options.synchronous ?? 'FULL', options.clock ?? Date.now, options.onCommit ?? null);
}

const MEMORY = ':memory:';

/** What an open store works with; null while closed. */
interface Open {
  db: Database.Database;
  stmts: StatementCache;
  registry: Registry;
  /** createTask, markRunning, finishJobs and appendAudit: one transaction per turn */
  writes: WriteBatch;
  audit: AuditLog;
  tasks: Tasks;
  artifacts: Artifacts;
  queue: Queue;
  /** the queue's tail in memory (fresh-jobs.ts) */
  fresh: FreshJobs;
  /** the files opened, for ping to check they are still there (null in memory) */
  files: OpenFiles | null;
}

class SqliteStore implements Store {
  readonly dialect = 'sqlite' as const;
  readonly changes = new LocalChangeFeed();
  readonly #path: string;
  readonly #synchronous: Synchronous;
  readonly #clock: () => number;
  readonly #onCommit: CommitObserver | null;
  #open: Open | null = null;
  #probe = 0;

  constructor(path: string, synchronous: Synchronous, clock: () => number, onCommit: CommitObserver | null) {
    this.#path = path;
    this.#synchronous = synchronous;
    this.#clock = clock;
    this.#onCommit = onCommit;
  }

  async open(): Promise<void> {
    if (this.#open !== null) return;
    const marker = this.#path === MEMORY ? null : readMarker(this.#path);
    if (marker !== null) checkPresent(this.#path, marker);
    const db = openDatabase(this.#path, this.#synchronous);
    let files: OpenFiles | null = null;
    try {
      if (marker !== null) checkIdentity(this.#path, marker, storedId(db));
      try {
        migrate(db);
      } catch (err) {
        throw cannotOpen(this.#path, err);
      }
      const id = storedId(db) as string;
      if (this.#path !== MEMORY) {
        if (marker === null) writeMarker(this.#path, id);
        files = new OpenFiles(this.#path, id);
      }
    } catch (err) {
      db.close();
      throw err;
    }
    const stmts = new StatementCache(db);
    const index = new InstanceIndex();
    index.load(stmts.get(InstanceSql.index).all() as InstanceIndexRow[]);
    const fresh = new FreshJobs((stmts.get(QueueSql.nextJobKey).get() as { next: number }).next);
    const queue = new Queue(db, stmts);
    const audit = new AuditLog(stmts);
    this.#open = {
      db,
      stmts,
      registry: new Registry(db, stmts, this.#clock, index),
      // The batch tells the change feed and the queue's tail itself: once per commit.
      writes: new WriteBatch(db, stmts, this.#clock, {
        tasks: new TaskWriter(stmts, index),
        queue,
        fresh,
        changes: this.changes,
        onCommit: this.#onCommit,
        audit,
      }),
      audit,
      tasks: new Tasks(stmts),
      artifacts: new Artifacts(stmts),
      queue,
      fresh,
      files,
    };
  }

  async close(): Promise<void> {
    const o = this.#open;
    if (o === null) return;
    o.writes.drain();
    // The close checkpoints the WAL into the file, which, if it was emptied in place, then holds only
    // the pages the WAL had and would pass for the database at the next open: say so beside it.
    const damaged = o.files?.damagedInPlace() ?? null;
    o.db.close();
    if (damaged !== null) noteDamage(this.#path, damaged);
    this.#open = null;
  }

  /**
   * A write read back (it reaches the WAL, and fsyncs under FULL: a full disk or an I/O error fails
   * it, and every transaction rereads page 1, so a store whose every call fails fails this too),
   * and the files opened are still the ones on disk.
   */
  async ping(): Promise<void> {
    const o = this.#o();
    o.files?.check();
    const value = String(++this.#probe);
    o.stmts.get(MetaSql.probeWrite).run(value);
    const row = o.stmts.get(MetaSql.probeRead).get() as { value: string } | undefined;
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
    const created = this.#o().registry.createInstance(instance);
    this.changes.instancesChanged([created.instanceId]);
    return created;
  }

  async createInstances(instances: ReadonlyArray<Omit<Instance, 'createdAt'>>): Promise<Instance[]> {
    const created = this.#o().registry.createInstances(instances);
    this.changes.instancesChanged(created.map((i) => i.instanceId));
    return created;
  }

  async assignInstance(instanceId: string, tenantId: string | null): Promise<Instance> {
    const { instance, cancelled } = this.#o().registry.assignInstance(instanceId, tenantId);
    this.#cancelledOnInstance(cancelled);
    this.changes.instancesChanged([instanceId]);
    return instance;
  }

  async deleteInstance(instanceId: string): Promise<void> {
    this.#cancelledOnInstance(this.#o().registry.deleteInstance(instanceId));
    this.changes.instancesChanged([instanceId]);
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
    // Not async: one promise per request, the writer's, on the submit path.
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
    const failed = this.#o().queue.interruptRunning(now);
    this.changes.taskChanged(new Set(failed.map((r) => r.task)));
    return failed.length;
  }

  async tryLead(): Promise<boolean> {
    this.#o();
    return true;
  }

  sharedHealth(): null {
    // One process owns the file: its health monitor answers the API itself.
    return null;
  }

  sharedRateLimiter(): null {
    // One process serves the API: its in-process bucket is the only one.
    return null;
  }

  joinAsWorker(): null {
    // One process owns the file (instance-index.ts): its one worker runs every instance.
    return null;
  }

  async queuedJobs(afterJobKey: number, limit: number): Promise<QueuedJob[]> {
    const o = this.#o();
    const fresh = o.fresh.after(afterJobKey, limit);
    if (fresh !== null) return fresh;
    const page = o.queue.queuedJobs(afterJobKey, limit);
    // A short page holds every queued job past afterJobKey: the memory can answer from its end on.
    if (page.length < limit) o.fresh.caughtUp(page.at(-1)?.jobKey ?? afterJobKey);
    return page;
  }

  async queuedJobsIn(jobKeys: readonly number[]): Promise<QueuedJob[]> {
    // Always the table: the memory's tail is the global reader's (it takes what it returns).
    return this.#o().queue.queuedJobsIn(jobKeys);
  }

  async markRunning(jobKeys: readonly number[], now: number): Promise<number[]> {
    const o = this.#o();
    return jobKeys.length > 0 ? o.writes.markRunning(jobKeys, now) : [];
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
    const res = o.queue.cancelTask(tenantKey, taskId, now);
    if (res === null) return null;
    for (const key of res.cancelledQueued) o.fresh.left(key);
    this.changes.cancelled({ queued: res.cancelledQueued, running: res.running });
    if (res.cancelledQueued.length > 0) this.changes.taskChanged([res.taskKey]);
    return res;
  }

  // --- the audit log ---

  appendAudit(entry: AuditEntry): Promise<void> {
    // Not async, as createTask: one promise per request, the writer's.
    const open = this.#open;
    return open === null ? Promise.reject(storeError.closed()) : open.writes.appendAudit(entry);
  }

  async listAudit(query: AuditQuery, limit: number, cursor: string | null): Promise<{ entries: AuditRecord[]; nextCursor: string | null }> {
    return this.#o().audit.list(query, limit, cursor);
  }

  stats(): StoreStats {
    return this.#o().writes.stats();
  }

  // --- retention ---

  async purgeTasks(before: number, batchSize: number): Promise<number> {
    const o = this.#o();
    const purged = purgeTasks(o.db, o.stmts, before, batchSize);
    // A watcher of a purged task reads null: nothing more will happen to it.
    this.changes.taskChanged(purged);
    return purged.length;
  }

  async purgeAudit(before: number, batchSize: number): Promise<number> {
    return purgeAudit(this.#o().stmts, before, batchSize);
  }

  /** Queued jobs an instance change cancelled leave the queue's tail, and are told. */
  #cancelledOnInstance(rows: CancelledRows): void {
    if (rows.length === 0) return;
    const fresh = this.#o().fresh;
    for (const r of rows) fresh.left(r.id);
    this.changes.cancelled({ queued: rows.map((r) => r.id), running: [] });
    this.changes.taskChanged(new Set(rows.map((r) => r.task)));
  }

  #o(): Open {
    if (this.#open === null) throw storeError.closed();
    return this.#open;
  }
}

/** The id store_meta holds, or null in a database without adbfleet's schema (empty, or another file). */
function storedId(db: Database.Database): string | null {
  if (db.prepare(MetaSql.hasMeta).get() === undefined) return null;
  return (db.prepare(MetaSql.id).get() as { value: string } | undefined)?.value ?? null;
}
