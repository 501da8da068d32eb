// The Store on SQLite (better-sqlite3): one connection, synchronous calls behind the async
// interface. Reads run between write transactions on the same thread, so they always see
// committed data.
import type Database from 'better-sqlite3';
import { canTransition, isFinal, JOB_CODES, JOB_STATES, JobCode, JobState, jobMessage, newTenantId } from '../../core/index.js';
import { StoreError, StoreErrorCode } from '../errors.js';
import type {
  Instance,
  InstanceTarget,
  JobOutput,
  JobResult,
  JobView,
  NewTask,
  CreatedTask,
  Page,
  Principal,
  QueuedJob,
  Store,
  TaskSummary,
  TaskView,
  Tenant,
} from '../types.js';
import { openDatabase, StatementCache, type Synchronous } from './db.js';
import { InstanceSql } from './instances.sql.js';
import { InstanceIndex, type InstanceIndexRow } from './instance-index.js';
import { migrate } from './migrations.js';
import { QueueSql } from './queue.sql.js';
import { TaskWriter, type TaskRow } from './task-writer.js';
import { TaskSql } from './tasks.sql.js';
import { TenantSql, TokenSql } from './tenants.sql.js';

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

type JobRow = Omit<JobView, 'outputTruncated' | 'errorCode'> & { errorCode: string; outputTruncated: number };

class SqliteStore implements Store {
  readonly dialect = 'sqlite' as const;
  readonly #path: string;
  readonly #synchronous: Synchronous;
  readonly #clock: () => number;
  #db: Database.Database | null = null;
  #stmts: StatementCache | null = null;
  #writer: TaskWriter | null = null;
  readonly #instances = new InstanceIndex();
  #finishTx: Database.Transaction<(results: readonly JobResult[]) => void> | null = null;

  constructor(path: string, synchronous: Synchronous, clock: () => number) {
    this.#path = path;
    this.#synchronous = synchronous;
    this.#clock = clock;
  }

  async open(): Promise<void> {
    if (this.#db !== null) return;
    const db = openDatabase(this.#path, this.#synchronous);
    try {
      migrate(db);
    } catch (err) {
      db.close();
      throw err;
    }
    this.#db = db;
    this.#stmts = new StatementCache(db);
    this.#instances.load(this.#stmts.get(InstanceSql.index).all() as InstanceIndexRow[]);
    this.#writer = new TaskWriter(db, this.#stmts, this.#clock, this.#instances);
    this.#finishTx = db.transaction((results: readonly JobResult[]) => this.#finishAll(results));
  }

  async close(): Promise<void> {
    if (this.#db === null) return;
    this.#writer?.drain();
    this.#db.close();
    this.#db = null;
    this.#stmts = null;
    this.#writer = null;
    this.#finishTx = null;
  }

  async ping(): Promise<void> {
    this.#s(PING).get();
  }

  // --- tenants and tokens ---

  async createTenant(name: string): Promise<Tenant> {
    const tenant: Tenant = { tenantId: newTenantId(), name, createdAt: this.#clock() };
    this.#s(TenantSql.insert).run(tenant.tenantId, tenant.name, tenant.createdAt);
    return tenant;
  }

  async getTenant(tenantId: string): Promise<Tenant | null> {
    const row = this.#tenantRow(tenantId);
    return row === undefined ? null : { tenantId: row.tenantId, name: row.name, createdAt: row.createdAt };
  }

  async listTenants(): Promise<Tenant[]> {
    return this.#s(TenantSql.list).all() as Tenant[];
  }

  async addToken(tenantId: string, tokenHash: Buffer, prefix: string): Promise<boolean> {
    const t = this.#tenantRow(tenantId);
    if (t === undefined) return false;
    this.#s(TokenSql.insert).run(tokenHash, prefix, t.id, this.#clock());
    return true;
  }

  async revokeToken(tenantId: string, prefix: string): Promise<number> {
    const t = this.#tenantRow(tenantId);
    if (t === undefined) return 0;
    return this.#s(TokenSql.revoke).run(this.#clock(), t.id, prefix).changes;
  }

  async findToken(tokenHash: Buffer): Promise<(Principal & { tokenHash: Buffer }) | null> {
    const row = this.#s(TokenSql.findLive).get(tokenHash) as (Principal & { tokenHash: Buffer }) | undefined;
    return row ?? null;
  }

  // --- instances ---

  async createInstance(instance: Omit<Instance, 'createdAt'>): Promise<boolean> {
    let tenantKey: number | null = null;
    if (instance.tenantId !== null) {
      const t = this.#tenantRow(instance.tenantId);
      if (t === undefined) throw new StoreError(StoreErrorCode.NoTenant, `tenant ${instance.tenantId} does not exist`);
      tenantKey = t.id;
    }
    const r = this.#s(InstanceSql.insert).run(
      instance.instanceId,
      instance.adbAddress,
      instance.instanceName,
      instance.zone,
      tenantKey,
      this.#clock(),
    );
    if (r.changes !== 1) return false;
    this.#instances.added(instance.instanceId, Number(r.lastInsertRowid), tenantKey, instance.adbAddress);
    return true;
  }

  async assignInstance(instanceId: string, tenantId: string | null): Promise<'ok' | 'no-instance' | 'no-tenant'> {
    let tenantKey: number | null = null;
    if (tenantId !== null) {
      const t = this.#tenantRow(tenantId);
      if (t === undefined) {
        return this.#instanceExists(instanceId) ? 'no-tenant' : 'no-instance';
      }
      tenantKey = t.id;
    }
    const changed = this.#conn()
      .transaction(() => {
        const row = this.#s(InstanceSql.assign).get(tenantKey, instanceId) as { id: number } | undefined;
        if (row === undefined) return false;
        this.#s(QueueSql.cancelQueuedOnInstance).run({ now: this.#clock(), instance: row.id, tenant: tenantKey });
        return true;
      })
      .immediate();
    if (!changed) return 'no-instance';
    this.#instances.assigned(instanceId, tenantKey);
    return 'ok';
  }

  async deleteInstance(instanceId: string): Promise<boolean> {
    const now = this.#clock();
    const deleted = this.#conn()
      .transaction(() => {
        const row = this.#s(InstanceSql.softDelete).get(now, instanceId) as { id: number } | undefined;
        if (row === undefined) return false;
        this.#s(QueueSql.cancelQueuedOnInstance).run({ now, instance: row.id, tenant: null });
        return true;
      })
      .immediate();
    if (!deleted) return false;
    this.#instances.deleted(instanceId);
    return true;
  }

  async listInstances(): Promise<Instance[]> {
    return this.#s(InstanceSql.list).all() as Instance[];
  }

  async getInstance(instanceId: string): Promise<Instance | null> {
    return (this.#s(InstanceSql.one).get(instanceId) as Instance | undefined) ?? null;
  }

  async listTargets(): Promise<InstanceTarget[]> {
    return this.#s(InstanceSql.targets).all() as InstanceTarget[];
  }

  async ownedInstances(tenantKey: number, instanceIds: readonly string[]): Promise<InstanceTarget[]> {
    this.#s(PING); // throws when the store is closed, like every other call
    return this.#instances.owned(tenantKey, instanceIds);
  }

  async pageInstances(
    tenantKey: number,
    q: { pageNo: number; pageSize: number; instanceId?: string; instanceName?: string },
  ): Promise<Page<Instance>> {
    if (!(Number.isInteger(q.pageNo) && q.pageNo >= 1 && Number.isInteger(q.pageSize) && q.pageSize >= 1)) {
      throw new StoreError(StoreErrorCode.InvalidArgument, 'pageNo and pageSize must be positive integers');
    }
    const filter = { tenant: tenantKey, instanceId: q.instanceId ?? null, name: q.instanceName ?? null };
    const items = this.#s(InstanceSql.page).all({
      ...filter,
      limit: q.pageSize,
      offset: (q.pageNo - 1) * q.pageSize,
    }) as Instance[];
    const { n } = this.#s(InstanceSql.pageCount).get(filter) as { n: number };
    return { items, total: n };
  }

  // --- tasks ---

  createTask(task: NewTask): Promise<CreatedTask | 'conflict'> {
    return this.#taskWriter().submit(task);
  }

  async getTask(tenantKey: number, taskId: string): Promise<TaskView | null> {
    const t = this.#s(TaskSql.byPublicId).get(taskId, tenantKey) as TaskRow | undefined;
    if (t === undefined) return null;
    const rows = this.#s(TaskSql.jobViews).all(t.jobFirst, t.jobFirst + t.jobCount - 1) as JobRow[];
    return {
      taskKey: t.id,
      taskId: t.taskId,
      command: t.command,
      kind: t.kind,
      timeoutMs: t.timeoutMs,
      createdAt: t.createdAt,
      jobs: rows.map(toJobView),
    };
  }

  async listTasks(
    tenantKey: number,
    limit: number,
    cursor: string | null,
  ): Promise<{ tasks: TaskSummary[]; nextCursor: string | null }> {
    if (!Number.isInteger(limit) || limit < 1) throw new StoreError(StoreErrorCode.InvalidArgument, 'limit must be a positive integer');
    const before = cursor === null ? Number.MAX_SAFE_INTEGER : decodeCursor(cursor);
    const rows = this.#s(TaskSql.listPage).all(tenantKey, before, limit + 1) as Array<
      Pick<TaskRow, 'id' | 'taskId' | 'command' | 'createdAt' | 'jobFirst' | 'jobCount'>
    >;
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    const counts = this.#s(TaskSql.stateCounts);
    const tasks = page.map((t): TaskSummary => {
      const c = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
      for (const r of counts.all(t.jobFirst, t.jobFirst + t.jobCount - 1) as Array<{ state: JobState; n: number }>) {
        c[r.state] = r.n;
      }
      return { taskId: t.taskId, command: t.command, createdAt: t.createdAt, counts: c };
    });
    const last = page[page.length - 1];
    return { tasks, nextCursor: more && last !== undefined ? encodeCursor(last.id) : null };
  }

  async getJobOutput(tenantKey: number, taskId: string, jobId: string): Promise<JobOutput | null> {
    const row = this.#s(TaskSql.jobOutput).get(taskId, tenantKey, jobId) as
      | {
          exitCode: number | null;
          outputBytes: number;
          outputTruncated: number;
          stdout: Buffer | null;
          stderr: Buffer | null;
          combined: Buffer | null;
        }
      | undefined;
    if (row === undefined) return null;
    // No row: no output. NULL stdout or stderr: the same bytes as combined (see #finishAll).
    const combined = row.combined ?? EMPTY;
    return {
      stdout: row.stdout ?? combined,
      stderr: row.stderr ?? combined,
      combined,
      exitCode: row.exitCode,
      outputBytes: row.outputBytes,
      outputTruncated: row.outputTruncated === 1,
    };
  }

  // --- the queue ---

  async interruptRunning(now: number): Promise<number> {
    const msg = jobMessage(JobCode.Interrupted, null);
    return this.#s(QueueSql.interruptRunning).run({ msg, now }).changes;
  }

  async queuedJobs(afterJobKey: number, limit: number): Promise<QueuedJob[]> {
    return this.#s(QueueSql.queued).all(afterJobKey, limit) as QueuedJob[];
  }

  async markRunning(jobKeys: readonly number[], now: number): Promise<number[]> {
    const db = this.#conn();
    const stmt = this.#s(QueueSql.markRunning);
    const moved: number[] = [];
    db.transaction(() => {
      for (const key of jobKeys) if (stmt.run(now, key).changes === 1) moved.push(key);
    }).immediate();
    return moved;
  }

  async finishJobs(results: readonly JobResult[]): Promise<void> {
    for (const r of results) checkResult(r);
    if (results.length === 0) return;
    const tx = this.#finishTx;
    if (tx === null) throw new Error('store is not open');
    tx.immediate(results);
  }

  #finishAll(results: readonly JobResult[]): void {
    const finish = this.#s(QueueSql.finish);
    const insertOutput = this.#s(QueueSql.insertOutput);
    for (const r of results) {
      const params = {
        jobKey: r.jobKey,
        state: r.state,
        errorCode: r.errorCode,
        errorMsg: r.errorMsg,
        exitCode: r.exitCode,
        executeMsg: r.executeMsg,
        outputBytes: r.outputBytes,
        outputTruncated: r.outputTruncated ? 1 : 0,
        finishedAt: r.finishedAt,
        from: JobState.Running as JobState,
      };
      let changed = finish.run(params).changes === 1;
      if (!changed && canTransition(JobState.Queued, r.state)) {
        params.from = JobState.Queued;
        changed = finish.run(params).changes === 1;
      }
      // A job already final (cancelled meanwhile, or reported twice) keeps its first result.
      if (!changed) continue;
      const o = r.output;
      if (o !== null && o.combined.length > 0) {
        // stdout and stderr partition combined: when one is empty the other IS combined, and is
        // stored as NULL ("same as combined") rather than a second copy of up to 1 MiB.
        const [stdout, stderr] = o.stderr.length === 0 ? [null, EMPTY] : o.stdout.length === 0 ? [EMPTY, null] : [o.stdout, o.stderr];
        insertOutput.run(r.jobKey, stdout, stderr, o.combined);
      }
    }
  }

  async cancelTask(
    tenantKey: number,
    taskId: string,
    now: number,
  ): Promise<{ taskKey: number; cancelledQueued: number[]; running: number[] } | null> {
    const db = this.#conn();
    return db
      .transaction(() => {
        const t = this.#s(TaskSql.byPublicId).get(taskId, tenantKey) as TaskRow | undefined;
        if (t === undefined) return null;
        const last = t.jobFirst + t.jobCount - 1;
        const cancelled = this.#s(QueueSql.cancelQueued).all(now, t.jobFirst, last, t.id) as Array<{ id: number }>;
        const running = this.#s(QueueSql.runningOfTask).all(t.jobFirst, last, t.id) as Array<{ id: number }>;
        return { taskKey: t.id, cancelledQueued: cancelled.map((r) => r.id).sort((a, b) => a - b), running: running.map((r) => r.id) };
      })
      .immediate();
  }

  // --- retention ---

  async purgeTasks(before: number, batchSize: number): Promise<number> {
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new StoreError(StoreErrorCode.InvalidArgument, 'batchSize must be a positive integer');
    const db = this.#conn();
    return db
      .transaction(() => {
        const victims = this.#s(QueueSql.purgeCandidates).all(before, batchSize) as Array<{ id: number; jobFirst: number; jobCount: number }>;
        for (const v of victims) {
          const last = v.jobFirst + v.jobCount - 1;
          this.#s(QueueSql.purgeOutputs).run(v.jobFirst, last);
          this.#s(QueueSql.purgeJobs).run(v.jobFirst, last, v.id);
          this.#s(QueueSql.purgeTask).run(v.id);
        }
        return victims.length;
      })
      .immediate();
  }

  // --- helpers ---

  #conn(): Database.Database {
    if (this.#db === null) throw new Error('store is not open');
    return this.#db;
  }

  #s(sql: string): Database.Statement {
    if (this.#stmts === null) throw new Error('store is not open');
    return this.#stmts.get(sql);
  }

  #taskWriter(): TaskWriter {
    if (this.#writer === null) throw new Error('store is not open');
    return this.#writer;
  }

  #tenantRow(tenantId: string): (Tenant & { id: number }) | undefined {
    return this.#s(TenantSql.byPublicId).get(tenantId) as (Tenant & { id: number }) | undefined;
  }

  #instanceExists(instanceId: string): boolean {
    return this.#s(InstanceSql.exists).get(instanceId) !== undefined;
  }
}

function toJobView(r: JobRow): JobView {
  return { ...r, errorCode: r.errorCode as JobView['errorCode'], outputTruncated: r.outputTruncated === 1 };
}

function checkResult(r: JobResult): void {
  const code = JOB_CODES[r.errorCode] as (typeof JOB_CODES)[JobCode] | undefined;
  if (!isFinal(r.state) || code === undefined || code.state !== r.state) {
    throw new StoreError(StoreErrorCode.InvalidArgument, `job ${r.jobKey}: result ${r.state}/${r.errorCode} is not a final state with its code`);
  }
}

const EMPTY = Buffer.alloc(0);

function encodeCursor(taskKey: number): string {
  return Buffer.from(String(taskKey), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^[1-9][0-9]{0,15}$/.test(text) || encodeCursor(Number(text)) !== cursor) {
    throw new StoreError(StoreErrorCode.InvalidCursor, 'cursor is not valid');
  }
  return Number(text);
}
