// The service's Prometheus metrics: the one place prom-client is used. The layers below expose
// plain observation points (the worker's WorkerObserver, the store's commit observer, the API's
// ApiMetrics, the change feed) and read-outs (pool stats, instance status counts, jobs held);
// this turns them into metrics.
//
// Cost: per job, one counter increment and up to two histogram observations on children created
// here once (jobs by code, dispatch latency, run time); per request, one counter increment on a
// child cached by route, method and status (plus one per accepted submit); per store commit, two
// histogram observations. Everything else is read when Prometheus scrapes.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AdbPoolStats } from '../adb/index.js';
import type { ApiMetrics } from '../api/index.js';
import { JOB_CODES, JobCode, STATUS_NAMES } from '../core/index.js';
import type { Dispatcher, HealthMonitor, WorkerObserver } from '../dispatch/index.js';
import type { CommitObserver, Store } from '../store/index.js';

/** What is read at scrape time, once the service has built it. */
export interface MetricsSources {
  store: Pick<Store, 'changes'>;
  pool: { stats(): AdbPoolStats };
  monitor: Pick<HealthMonitor, 'statusCounts'>;
  dispatcher: Pick<Dispatcher, 'active' | 'held'>;
}

export interface ServiceMetrics extends ApiMetrics {
  /** for createDispatcher's observer */
  readonly worker: WorkerObserver;
  /** for createSqliteStore's onCommit */
  readonly commit: CommitObserver;
  /** Reads the service's parts from now on (gauges at scrape time, cancels from the change feed). */
  attach(sources: MetricsSources): void;
  /** Stops listening to the change feed. */
  close(): void;
}

/** Job times from a few milliseconds (an echo on an idle fleet) to hours (a backlog, the longest
 * command: 21,600 s). */
const JOB_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600];
/** A commit: a fraction of a millisecond (NORMAL) to a slow fsync; a batch stops taking requests after 8 ms. */
const COMMIT_SECONDS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
/** Rows per commit, up to a batch's bound of 20,000. */
const COMMIT_ROWS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 20000];

interface Inc {
  inc(value?: number): void;
}

/**
 * prom-client's process metrics (CPU, memory, event loop lag, GC), made once per process and shown
 * by every service in it: collectDefaultMetrics starts a GC observer and an event-loop-delay
 * monitor that nothing can stop, so one set per service would pile them up in a process that
 * starts many (the tests), each sampling the loop and hearing every GC for good.
 */
let processRegistry: Registry | null = null;
function processMetrics(): Registry {
  if (processRegistry === null) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export function createServiceMetrics(): ServiceMetrics {
  const registry = new Registry();
  const registers = [registry];
  let sources: MetricsSources | null = null;
  let offCancelled: (() => void) | null = null;

  // One pool read per scrape, shared by the metrics that show it (stats() walks every address).
  let scrape = 0;
  let poolAt = -1;
  let poolStats: AdbPoolStats | null = null;
  const pool = (): AdbPoolStats | null => {
    if (poolAt !== scrape && sources !== null) {
      poolStats = sources.pool.stats();
      poolAt = scrape;
    }
    return poolStats;
  };

  const finished = new Counter({
    name: 'adbfleet_jobs_finished_total',
    help: 'Jobs that reached a final state, by state and result code (SPEC §4)',
    labelNames: ['state', 'code'],
    registers,
  });
  // Every code shows from the start (at 0), so a rate over it needs no first occurrence.
  const byCode = Object.fromEntries(
    Object.values(JobCode).map((code) => {
      finished.inc({ state: JOB_CODES[code].state, code }, 0);
      return [code, finished.labels(JOB_CODES[code].state, code)];
    }),
  ) as Record<JobCode, Inc>;
  const submissions = new Counter({
    name: 'adbfleet_task_submissions_total',
    help: 'Tasks accepted, by route and tenant (public id); an idempotent replay is not counted',
    labelNames: ['route', 'tenant'],
    registers,
  });
  const dispatchLatency = new Histogram({
    name: 'adbfleet_dispatch_latency_seconds',
    help: 'From a job being stored to it running (committed running, its command sent next)',
    buckets: JOB_SECONDS,
    registers,
  });
  const runTime = new Histogram({
    name: 'adbfleet_job_run_seconds',
    help: 'From a job running to its result (jobs that ran)',
    buckets: JOB_SECONDS,
    registers,
  });
  const http = new Counter({
    name: 'adbfleet_http_requests_total',
    help: 'HTTP requests answered, by route pattern, method and status code',
    labelNames: ['route', 'method', 'status'],
    registers,
  });
  const commitSeconds = new Histogram({
    name: 'adbfleet_store_commit_seconds',
    help: 'Shared commits of submits, job starts and results: BEGIN to COMMIT, fsync included',
    buckets: COMMIT_SECONDS,
    registers,
  });
  const commitRows = new Histogram({ name: 'adbfleet_store_commit_rows', help: 'Rows changed per shared commit', buckets: COMMIT_ROWS, registers });

  new Gauge({
    name: 'adbfleet_adb_connections',
    help: 'Live ADB connections',
    registers,
    collect() {
      this.set(pool()?.connections ?? 0);
    },
  });
  new Gauge({
    name: 'adbfleet_adb_streams',
    help: 'ADB streams in use by commands',
    registers,
    collect() {
      this.set(pool()?.openStreams ?? 0);
    },
  });
  // Counters kept by the pool, shown as they are: reset, then set to its total.
  new Counter({
    name: 'adbfleet_adb_reconnects_total',
    help: 'ADB connections made to an instance whose previous connection was lost',
    registers,
    collect() {
      this.reset();
      this.inc(pool()?.reconnects ?? 0);
    },
  });
  new Counter({
    name: 'adbfleet_adb_connect_failures_total',
    help: 'ADB connect attempts that failed (refused, timed out, key rejected, lost right after the handshake)',
    registers,
    collect() {
      this.reset();
      this.inc(pool()?.connectsFailed ?? 0);
    },
  });
  new Gauge({
    name: 'adbfleet_instances',
    help: 'Registered instances by SPEC §6 status (number and name)',
    labelNames: ['status', 'name'],
    registers,
    collect() {
      const counts = sources?.monitor.statusCounts() ?? [];
      for (const [status, name] of Object.entries(STATUS_NAMES)) this.set({ status, name }, counts[Number(status)] ?? 0);
    },
  });
  new Gauge({
    name: 'adbfleet_worker_jobs_active',
    help: 'Jobs starting or running in this worker',
    registers,
    collect() {
      this.set(sources?.dispatcher.active ?? 0);
    },
  });
  new Gauge({
    name: 'adbfleet_worker_jobs_held',
    help: 'Queued jobs the worker holds in memory (bounded; the rest wait in the store)',
    registers,
    collect() {
      this.set(sources?.dispatcher.held ?? 0);
    },
  });

  // Children by label values, made once: the hot paths look them up, they build no strings.
  const httpChildren = new Map<string, Map<string, Map<number, Inc>>>();
  const submitChildren = new Map<string, Map<string, Inc>>();

  const worker: WorkerObserver = {
    started(job, startedAt) {
      dispatchLatency.observe(Math.max(0, startedAt - job.createdAt) / 1000);
    },
    finished(_job, result, startedAt) {
      byCode[result.errorCode].inc();
      if (startedAt !== null) runTime.observe(Math.max(0, result.finishedAt - startedAt) / 1000);
    },
    interrupted(jobs) {
      byCode[JobCode.Interrupted].inc(jobs);
    },
  };

  // Made after the service's metrics: a merged registry holds the metrics its parts had then.
  const exposition = Registry.merge([processMetrics(), registry]);

  return {
    contentType: exposition.contentType,
    worker,
    commit(seconds, rows) {
      commitSeconds.observe(seconds);
      commitRows.observe(rows);
    },
    responded(route, method, status) {
      let byMethod = httpChildren.get(route);
      if (byMethod === undefined) httpChildren.set(route, (byMethod = new Map()));
      let byStatus = byMethod.get(method);
      if (byStatus === undefined) byMethod.set(method, (byStatus = new Map()));
      let child = byStatus.get(status);
      if (child === undefined) byStatus.set(status, (child = http.labels(route, method, String(status))));
      child.inc();
    },
    submitted(route, tenantId) {
      let byTenant = submitChildren.get(route);
      if (byTenant === undefined) submitChildren.set(route, (byTenant = new Map()));
      let child = byTenant.get(tenantId);
      if (child === undefined) byTenant.set(tenantId, (child = submissions.labels(route, tenantId)));
      child.inc();
    },
    attach(s) {
      sources = s;
      // Queued jobs the store cancels never reach the worker: they are counted here. Running ones
      // the worker stops, and its result (1004) counts them.
      offCancelled = s.store.changes.onCancelled((jobs) => {
        if (jobs.queued.length > 0) byCode[JobCode.Cancelled].inc(jobs.queued.length);
      });
    },
    close() {
      offCancelled?.();
      offCancelled = null;
    },
    render() {
      scrape++;
      return exposition.metrics();
    },
  };
}
