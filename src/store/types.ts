// The one Store interface. SQLite (src/store/sqlite/) and PostgreSQL (src/store/postgres/)
// implement it with the same contract (test/store/conformance.ts runs against every implementation).
//
// Keys: every table has an INTEGER primary key; the public 32-hex ids are plain columns.
// Times are epoch milliseconds in the store and ISO 8601 in the API.
//
// Results follow one rule (errors.ts): a read returns null when the thing is missing; a mutation
// that cannot proceed for a reason the caller caused throws a StoreError with a code, and
// otherwise returns its result. Every call before open() or after close() throws CLOSED.
import type { InstanceStatus, JobCode, JobState, TaskOp } from '../core/index.js';
import type { AuditEntry, AuditQuery, AuditRecord } from './audit-types.js';
import type { ChangeFeed } from './changes.js';

export type * from './audit-types.js';

export interface Tenant {
  tenantId: string; // public id, e.g. "t_3f9c2a1b7d4e"
  name: string;
  createdAt: number;
}

/** The tenant a token belongs to, as the auth hook sees it. */
export interface Principal {
  tenantKey: number; // internal integer key, used in every tenant-scoped call
  tenantId: string;
}

export interface Instance {
  instanceId: string;
  adbAddress: string; // "host:port", "[v6]:port"
  instanceName: string;
  zone: string;
  tenantId: string | null;
  createdAt: number;
}

/** An instance as the worker sees it: where to reach it. */
export interface InstanceTarget {
  instanceKey: number;
  instanceId: string;
  adbAddress: string;
}

export type TaskKind = 'async' | 'sync';

export interface NewTask {
  tenantKey: number;
  /** the shell command, or for an operation its description (describeOp) */
  command: string;
  /** a device operation (SPEC §10) instead of a shell command. An install's task id is
   * "ZGCA..." (newInstallTaskId). An op with an artifact names the tenant's uploaded artifact: the
   * task keeps it from retention while the task lives, and createTask throws NO_ARTIFACT when the
   * tenant has no such artifact (purged since the API's check). */
  op?: TaskOp;
  timeoutMs: number;
  kind: TaskKind;
  /** instance ids in request order; the API checked they are the tenant's, createTask checks again */
  instanceIds: readonly string[];
  /** idempotency (SPEC §3): the x-request-id and a hash of the canonical body */
  requestId?: string;
  requestHash?: string;
}

export interface CreatedJob {
  jobKey: number;
  jobId: string;
  instanceId: string;
}

export interface CreatedTask {
  taskKey: number;
  taskId: string;
  command: string;
  timeoutMs: number;
  createdAt: number;
  jobs: CreatedJob[];
  /** true when an earlier task with the same request id and body was returned instead */
  replayed: boolean;
}

export interface JobView {
  jobKey: number;
  jobId: string;
  instanceId: string;
  state: JobState;
  errorCode: '' | JobCode;
  errorMsg: string;
  executeMsg: string;
  exitCode: number | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  outputBytes: number;
  outputTruncated: boolean;
}

export interface TaskView {
  taskKey: number;
  taskId: string;
  command: string;
  kind: TaskKind;
  /** null: a shell command */
  op: TaskOp | null;
  timeoutMs: number;
  createdAt: number;
  jobs: JobView[]; // in cmd_jobs (request) order
}

export interface TaskSummary {
  taskId: string;
  command: string;
  createdAt: number;
  counts: Record<JobState, number>;
}

export interface JobOutput {
  stdout: Buffer;
  stderr: Buffer;
  combined: Buffer;
  exitCode: number | null;
  outputBytes: number;
  outputTruncated: boolean;
}

/** A queued job handed to the worker. */
export interface QueuedJob {
  jobKey: number;
  jobId: string;
  taskKey: number;
  taskId: string;
  tenantKey: number;
  command: string;
  /** null: a shell command (the common case, read without parsing anything) */
  op: TaskOp | null;
  timeoutMs: number;
  instanceKey: number;
  instanceId: string;
  adbAddress: string;
  createdAt: number;
}

/** A finished job, as the worker reports it (written in batches). */
export interface JobResult {
  jobKey: number;
  state: JobState; // final
  errorCode: JobCode;
  errorMsg: string;
  exitCode: number | null;
  executeMsg: string; // first 1024 bytes of combined output, cut at a UTF-8 boundary
  outputBytes: number;
  outputTruncated: boolean;
  finishedAt: number;
  output: { stdout: Buffer; stderr: Buffer; combined: Buffer } | null;
  /** the file the job produced (pull, screenshot), already in the artifact directory; absent or
   * null: none */
  artifact?: JobArtifact | null;
}

/** A file a job produced, kept with the job (purged with its task). */
export interface JobArtifact {
  sha256: string;
  size: number;
  contentType: string;
}

/** A file a tenant uploaded (POST /v1/artifacts). The same bytes are the same artifact. */
export interface Artifact {
  /** 32 lowercase hex characters */
  artifactId: string;
  sha256: string;
  size: number;
  contentType: string;
  createdAt: number;
}

export interface Page<T> {
  items: T[];
  total: number;
}

/** Who a worker is, for instance leases (several workers on one PostgreSQL database). */
export interface WorkerIdentity {
  /** unique among the workers of the database, and new at every start (a restarted worker is a
   * new worker: its predecessor's leases lapse and are rescued like any dead worker's) */
  workerId: string;
  /** the zones whose instances it runs; null: every zone */
  zones: readonly string[] | null;
  /** a lease not renewed for this long lapses (ms) */
  leaseMs: number;
}

/** What one lease round did (WorkerLeases.round). Instance keys, ascending. */
export interface LeaseRound {
  /** every instance this worker holds now (its lanes) */
  held: number[];
  /** claimed by this round: their queued jobs up to the worker's read cursor are read with
   * queuedJobsOf, the rest come with queuedJobs */
  acquired: number[];
  /** held before this round and no longer: released (surplus past the fair share), or taken back
   * after this worker's lease lapsed. Their lanes stop; their queued jobs stay in the store. */
  lost: number[];
  /** running jobs failed KOOPHONE.JOB.1006 by this round: their holder's lease lapsed, or nobody
   * held their instance (orphans) */
  interrupted: number;
}

/**
 * Instance leases: each instance is run by one worker at a time, the one holding its lease, so
 * per-instance FIFO and concurrency stay one dispatcher's. Once a store has joined as a worker,
 * its markRunning moves only jobs of instances it holds and its queuedJobs returns only theirs.
 */
export interface WorkerLeases {
  readonly identity: WorkerIdentity;
  /** Heartbeat (which renews this worker's leases), free lapsed ones (failing their running jobs
   * 1006, once, whichever worker gets there first), release idle instances past its fair share of
   * each zone, and claim free instances of its zones up to that share. One transaction. */
  round(now: number): Promise<LeaseRound>;
  /** Gives up every lease locally, without the database (which this worker could not reach in
   * time): returns the instances held, and the next round that succeeds reports those it still
   * holds as acquired, so their queues are read afresh. */
  forfeit(): number[];
  /** The worker's read of the queue: queuedJobs (its instances' jobs only), and the key up to which
   * it looked (`scannedTo`: every such job up to it is in `jobs`). The worker's cursor moves
   * there, past the other workers' jobs, which it would otherwise scan again at every read. */
  readQueue(afterJobKey: number, limit: number): Promise<{ jobs: QueuedJob[]; scannedTo: number }>;
  /** Queued jobs of these instances with afterJobKey < key <= upToJobKey, oldest first, at most
   * limit: what the worker's read cursor passed before it held them. */
  queuedJobsOf(instanceKeys: readonly number[], afterJobKey: number, upToJobKey: number, limit: number): Promise<QueuedJob[]>;
  /** Releases every lease and the worker's row (a clean stop, once its jobs ended). */
  leave(): Promise<void>;
  /** The instances held after the last round (instance keys): the same object until they change. */
  held(): ReadonlySet<number>;
  /** Stores the SPEC §6 status this worker measured, for the instances it still holds (others are
   * their new holder's to tell). */
  recordHealth(statuses: ReadonlyArray<{ instanceKey: number; status: InstanceStatus }>, now: number): Promise<void>;
  /** Of these running jobs (this worker's), the ones whose cancel was asked (cancelTask): what
   * the cancelled notice says, for when a notice was lost. */
  cancelRequested(jobKeys: readonly number[]): Promise<number[]>;
  /** The instances this worker holds whose reboot an API node asked for (SharedHealth), taken: each
   * request is handed out once. */
  takeReboots(): Promise<number[]>;
}

/** Instance health shared through the database: measured by the worker holding each instance
 * (WorkerLeases.recordHealth), read by any API node. */
export interface SharedHealth {
  /** Every live instance's stored status (0 until a worker measured it), with when it was
   * measured (`at`, the worker's clock; null: never). With `since`, only the statuses measured at
   * or after it (a reader that keeps the rest, and reads everything again now and then). */
  read(since?: number): Promise<Array<{ instanceId: string; status: InstanceStatus; at: number | null }>>;
  /** Asks the worker holding the instance to reboot it (it hears at once by the change feed, or at
   * its next health interval) and stores status 4 meanwhile. False when the instance is gone. */
  requestReboot(instanceKey: number, now: number): Promise<boolean>;
}

/** A per-tenant token bucket kept in the shared database, so that every API node draws on the
 * same bucket (the same rule as the API's in-process one: `perSecond`, `burst`). */
export interface SharedRateLimiter {
  /** 0 when allowed (a token taken), else the whole seconds (>= 1) until one is available. */
  take(tenantKey: number): Promise<number>;
}

/** Told of each commit of the shared write batch (createTask, markRunning, finishJobs, appendAudit):
 * its time from BEGIN to COMMIT (its statements and the flush), in seconds, and the rows it
 * changed. Failed batches are not told. For metrics: it runs once per commit, so it must be cheap. */
export type CommitObserver = (seconds: number, rows: number) => void;

/** Counters of the store's writes, cheap to read (tests and benchmarks). */
export interface StoreStats {
  /** transactions committed by createTask, markRunning, finishJobs and appendAudit, which share one
   * commit per turn of the event loop (the other writes commit alone and are not counted) */
  commits: number;
  /** rows those commits changed */
  rowsWritten: number;
}

export interface Store {
  readonly dialect: 'sqlite' | 'postgres';
  /** What each write committed, for the worker and for those waiting on a task (changes.ts). */
  readonly changes: ChangeFeed;

  /** Applies pending migrations (under a lock); a second call does nothing. */
  open(): Promise<void>;
  close(): Promise<void>;
  /** For /readyz: throws unless the store can write and read back, and its database is still the one it opened. */
  ping(): Promise<void>;

  // --- tenants and tokens (admin) ---
  createTenant(name: string): Promise<Tenant>;
  getTenant(tenantId: string): Promise<Tenant | null>;
  listTenants(): Promise<Tenant[]>;
  /** Stores the token's SHA-256 hash and its display prefix. Throws NO_TENANT. */
  addToken(tenantId: string, tokenHash: Buffer, prefix: string): Promise<void>;
  /** Revokes the tenant's live tokens whose prefix matches; returns how many (0: none matched).
   * Throws NO_TENANT. */
  revokeToken(tenantId: string, prefix: string): Promise<number>;
  /** Looks up a live token by hash; the caller compares hashes in constant time. */
  findToken(tokenHash: Buffer): Promise<(Principal & { tokenHash: Buffer }) | null>;

  // --- instances ---
  /** Registers an instance; returns it as stored. Throws NO_TENANT (a tenantId that names no
   * tenant), then INSTANCE_EXISTS (the id is live already). */
  createInstance(instance: Omit<Instance, 'createdAt'>): Promise<Instance>;
  /** Registers every instance in one transaction, or none. Throws NO_TENANT (the first tenantId
   * that names no tenant), then INSTANCE_EXISTS naming every id that is live already or repeats an
   * earlier entry. One instances-changed notice for the batch. */
  createInstances(instances: ReadonlyArray<Omit<Instance, 'createdAt'>>): Promise<Instance[]>;
  /** tenantId null unassigns; returns the instance as stored. Throws NO_INSTANCE (checked first),
   * then NO_TENANT. Queued jobs of any other tenant on the instance are cancelled (1004): they
   * never reach it. */
  assignInstance(instanceId: string, tenantId: string | null): Promise<Instance>;
  /** Soft-deletes the instance: queued jobs on it are cancelled (1004); running ones finish.
   * Throws NO_INSTANCE. */
  deleteInstance(instanceId: string): Promise<void>;
  listInstances(): Promise<Instance[]>;
  getInstance(instanceId: string): Promise<Instance | null>;
  /** Every registered instance's target, for the health monitor. */
  listTargets(): Promise<InstanceTarget[]>;
  /** The registered instances among ids, as targets, in the order asked; an id not returned is not
   * registered (never was, or removed). For following the instances-changed notices. */
  instanceTargets(instanceIds: readonly string[]): Promise<InstanceTarget[]>;
  /** The tenant's instances among ids (for ownership checks); ids not returned are missing or not theirs. */
  ownedInstances(tenantKey: number, instanceIds: readonly string[]): Promise<InstanceTarget[]>;
  /** Tenant's instances, filtered, ordered by instance_id, one page (pageNo from 1). Throws
   * INVALID_ARGUMENT for a pageNo or pageSize that is not a positive integer. */
  pageInstances(
    tenantKey: number,
    q: { pageNo: number; pageSize: number; instanceId?: string; instanceName?: string },
  ): Promise<Page<Instance>>;

  // --- tasks (API side) ---
  /** Task + all its jobs in one transaction; durable when the promise resolves. With requestId
   * set, an earlier task of the same tenant and request id (within the idempotency window) is
   * returned instead (replayed: true) when its requestHash matches, and IDEMPOTENCY_CONFLICT is
   * thrown when it differs; both before ownership is checked. Throws INSTANCE_NOT_OWNED (with
   * the ids) and INVALID_ARGUMENT (no instances). */
  createTask(task: NewTask): Promise<CreatedTask>;
  /** What createTask would answer for this request id now, without writing: the tenant's task
   * of this request id within the idempotency window (replayed: true) when its requestHash
   * matches, IDEMPOTENCY_CONFLICT when it differs, null when there is none. For a caller with
   * costly work before createTask (fetching an install package) that a replay must not repeat;
   * createTask still decides, in its transaction. */
  findRequest(tenantKey: number, requestId: string, requestHash: string): Promise<CreatedTask | null>;
  getTask(tenantKey: number, taskId: string): Promise<TaskView | null>;
  /** A watcher's re-read of a task (by key) it has read before: the jobs from fromJobKey on whose
   * state is past the one it saw, in key order. `seen[i]` is what it saw of job fromJobKey + i:
   * '0' queued, '1' running, '2' final; jobs past the string's end are not read. A job's row
   * changes only with its state, so the jobs left out are as the watcher has them. Null when the
   * task is gone (purged). */
  advancedJobs(taskKey: number, fromJobKey: number, seen: string): Promise<JobView[] | null>;
  /** Newest first; cursor is opaque (from the previous page's nextCursor). Throws INVALID_CURSOR
   * for a cursor this store did not produce, INVALID_ARGUMENT for a limit below 1. */
  listTasks(tenantKey: number, limit: number, cursor: string | null): Promise<{ tasks: TaskSummary[]; nextCursor: string | null }>;
  getJobOutput(tenantKey: number, taskId: string, jobId: string): Promise<JobOutput | null>;
  /** The file a job produced: null when the tenant has no such task and job, `{artifact: null}`
   * when the job produced none (not a pull or screenshot, not finished, or failed). */
  getJobArtifact(tenantKey: number, taskId: string, jobId: string): Promise<{ artifact: JobArtifact | null } | null>;

  // --- artifacts (SPEC §10) ---
  /** Records the tenant's upload of a file already in the artifact directory. The tenant's
   * artifact of the same sha256, when there is one, is returned instead (created: false), its
   * retention restarted from now. */
  putArtifact(tenantKey: number, file: { sha256: string; size: number; contentType: string }, now: number): Promise<Artifact & { created: boolean }>;
  getArtifact(tenantKey: number, artifactId: string): Promise<Artifact | null>;
  /** Deletes up to batchSize uploaded artifacts last uploaded before `before` that no task still
   * names; returns how many. Throws INVALID_ARGUMENT for a batchSize below 1. */
  purgeArtifacts(before: number, batchSize: number): Promise<number>;
  /** Of these sha256s, the ones an artifact (an upload or a job's) still names: the files the
   * artifact directory must keep. */
  referencedBlobs(sha256s: readonly string[]): Promise<Set<string>>;

  // --- the queue (worker side) ---
  /** On start: running jobs (their worker died) become failed KOOPHONE.JOB.1006; returns how many.
   * For one worker only: a store that joined as a worker (joinAsWorker) rescues through its lease
   * rounds instead. */
  interruptRunning(now: number): Promise<number>;
  /** Leases for one of several workers on a shared database; null where one process owns the
   * store (SQLite: its one worker runs every instance). Once per store. */
  joinAsWorker(identity: WorkerIdentity): WorkerLeases | null;
  /** True while this process leads `role` among the processes on the store (taking it if free):
   * work worth doing on one node at a time (retention). Always true where one process owns the
   * store (SQLite). */
  tryLead(role: 'retention'): Promise<boolean>;
  /** Instance health shared by every process on the database; null where one process owns the
   * store (SQLite: its one health monitor answers the API). */
  sharedHealth(): SharedHealth | null;
  /** The tenants' rate limit shared by every process on the database; null where one process owns
   * the store (SQLite: the API's in-process bucket is the only one). */
  sharedRateLimiter(perSecond: number, burst: number): SharedRateLimiter | null;
  /** Queued jobs, oldest first (by job key), after afterJobKey, at most limit. */
  queuedJobs(afterJobKey: number, limit: number): Promise<QueuedJob[]>;
  /** The jobs among jobKeys that are still queued, oldest first (by job key): the worker holds a
   * bounded window of each instance's queue, notes the keys of the rest, and reads them from here
   * as the window drains. */
  queuedJobsIn(jobKeys: readonly number[]): Promise<QueuedJob[]>;
  /** queued -> running for each job still queued; returns the keys that moved (others were cancelled). */
  markRunning(jobKeys: readonly number[], now: number): Promise<number[]>;
  /** Writes final results in one transaction; a job already final is left untouched. Throws
   * INVALID_ARGUMENT, before writing anything, for a state that is not final or a code that does
   * not belong to it. */
  finishJobs(results: readonly JobResult[]): Promise<void>;
  /** queued -> cancelled for the tenant's task's queued jobs; returns the task key, the keys
   * cancelled (ascending) and the keys still running. Null when the tenant has no such task (a
   * lookup: another tenant's task is missing too). */
  cancelTask(
    tenantKey: number,
    taskId: string,
    now: number,
  ): Promise<{ taskKey: number; cancelledQueued: number[]; running: number[] } | null>;

  // --- the audit log ---
  /** Appends one entry. It joins the shared commit of createTask, markRunning and finishJobs (no
   * transaction or sync of its own): durable when the promise resolves, lost if the process dies
   * before that. Rejects (never throws) on a store that is not open. */
  appendAudit(entry: AuditEntry): Promise<void>;
  /** Entries matching every filter given, newest first (by id); cursor is opaque, from the previous
   * page's nextCursor (null on the last page). Throws INVALID_CURSOR for a cursor this store did not
   * produce, INVALID_ARGUMENT for a limit below 1. */
  listAudit(query: AuditQuery, limit: number, cursor: string | null): Promise<{ entries: AuditRecord[]; nextCursor: string | null }>;

  /** What the store has written since it opened. */
  stats(): StoreStats;

  // --- retention ---
  /** Deletes up to batchSize finished tasks created before `before` (and their jobs, outputs and job artifacts);
   * returns how many. Throws INVALID_ARGUMENT for a batchSize below 1. */
  purgeTasks(before: number, batchSize: number): Promise<number>;
  /** Deletes up to batchSize audit entries whose `at` is before `before`, oldest first; returns how
   * many. Throws INVALID_ARGUMENT for a batchSize below 1. */
  purgeAudit(before: number, batchSize: number): Promise<number>;
}
