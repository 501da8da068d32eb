// API and store alone: POST async-command with 100 instance ids from 50 keep-alive connections,
// on SQLite (one `adbfleet serve` process, API and worker) and on PostgreSQL (--api-nodes N
// `serve --role api` processes and --workers M `serve --role worker` processes on one database of
// a cluster this bench starts, fsync on, stopped at exit; connection i posts to node i mod N),
// side by side in one run and one table (--store sqlite|postgres|both). The instances point at a
// closed port, so the workers only hold the jobs (retrying the connection) while the API and the
// store take the load.
// Before each store's window, with nothing else running, its raw ceiling for the same rows: SQLite
// (lib/sqlite-ceiling.ts: the store's statements, 50 tasks per commit, one thread) and PostgreSQL
// (lib/pg-ceiling.ts: one task + 100 jobs per transaction in one CTE statement, from as many
// connections as the service has writers, one per API node, or --ceiling-clients), and pg-boss's
// insert of 100 jobs per call from as many clients (lib/pgboss.ts). The service's requests/s is
// reported as a share of the ceiling and its jobs/s against pg-boss's.
// CPU per request of every process (service or API nodes, workers, the PostgreSQL server's
// processes, this load client) and what the machine allows from it: cores / their sum.
// On PostgreSQL two more windows restart the API nodes with the shared rate limit on
// (ADBFLEET_RATE_LIMIT 1,000,000/s, never refusing), then off again: the CPU per request it adds
// is on less the mean of the two off windows.
// --backlog N first submits until N jobs are queued (they stay queued: the instances are
// unreachable and the retry window is an hour), then measures the window on top of that backlog.
// RSS is sampled every 250 ms (peak and end of each phase; on PostgreSQL the largest API node's
// and worker's), and requests/s per second show whether the rate holds as the queue grows.
// Usage: node --import tsx bench/api.ts [--store both|sqlite|postgres] [--seconds 10] [--connections 50]
//   [--synchronous FULL|NORMAL] [--backlog N] [--api-nodes 2] [--workers 2] [--ceiling-clients N]
// Prints a table and writes bench/results/api.json (one section per store).
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { cpuCounter, cpuSources, machineAllows, perUnit, ROLE_NAMES, totalMs, type CpuByRole, type CpuRole } from './lib/cpu.js';
import { startDeployment, type Deployment, type StoreKind } from './lib/deployment.js';
import { pct } from './lib/measure.js';
import { measureInsertCeiling, type InsertCeiling } from './lib/pg-ceiling.js';
import { pgCluster, type PgCluster } from './lib/pg-cluster.js';
import { measureBossInsert, type BossInsert } from './lib/pgboss.js';
import { sampleRss, type RssSampler } from './lib/rss.js';
import { measureSqliteCeiling, type SqliteCeiling } from './lib/sqlite-ceiling.js';
import { firstLast, submitLoad, type Load } from './lib/submit-load.js';
import { ms, num, pctOf, printTable, type Cell } from './lib/table.js';

const { values } = parseArgs({
  options: {
    store: { type: 'string', default: 'both' },
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    synchronous: { type: 'string', default: 'FULL' },
    backlog: { type: 'string', default: '0' },
    'api-nodes': { type: 'string', default: '2' },
    workers: { type: 'string', default: '2' },
    'ceiling-clients': { type: 'string' },
  },
});
const SECONDS = Number(values.seconds);
const CONNECTIONS = Number(values.connections);
const BACKLOG = Number(values.backlog);
const API_NODES = Number(values['api-nodes']);
const WORKERS = Number(values.workers);
const CEILING_CLIENTS = Number(values['ceiling-clients'] ?? API_NODES);
const STORES: StoreKind[] = values.store === 'both' ? ['sqlite', 'postgres'] : [values.store as StoreKind];
if (!STORES.every((s) => s === 'sqlite' || s === 'postgres')) throw new Error(`--store must be sqlite, postgres or both, got "${values.store}"`);
const RATE_LIMIT_ON = { ADBFLEET_RATE_LIMIT: '1000000', ADBFLEET_RATE_BURST: '1000000' };

type RssMiB = { start: number; peak: number; end: number };

interface Window {
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  latencyMs: { p50: number; p99: number; max: number | undefined };
  cpuMsPerRequest: CpuByRole;
}

interface StoreRun extends Window {
  store: StoreKind;
  shape: string;
  jobsPerSecond: number;
  machineAllowsRequestsPerSecond: number;
  shareOfMachine: number;
  ceiling: (SqliteCeiling & { kind: 'sqlite' }) | (InsertCeiling & { kind: 'postgres' });
  shareOfCeiling: number;
  pgBoss: (BossInsert & { oursOverPgBoss: number }) | null;
  /** PostgreSQL: the same window with the shared rate limit on, then off again */
  rateLimit: { perSecond: number; on: Window; offAgain: Window; extraMsPerRequest: { apiNodes: number; postgres: number } } | null;
  requestsPerSecondEachSecond: number[];
  requestsPerSecondFirst3s: number;
  requestsPerSecondLast3s: number;
  /** by role, over the measured window (PostgreSQL: the largest process of the role) */
  rssMiB: Record<string, RssMiB>;
  /** every job submitted stays queued: the instances are unreachable, the retry window 1 h */
  queuedJobsAtEnd: number;
  backlog: { jobs: number; seconds: number; requestsPerSecond: number; requestsPerSecondFirst3s: number; requestsPerSecondLast3s: number; rssMiB: Record<string, RssMiB> } | null;
}

/** RSS samplers by role; each role's figure is its largest process's. */
function rssByRole(d: Deployment): { now(): Record<string, number>; peak(): Record<string, number>; reset(): void; stop(): void } {
  const samplers: Array<[string, RssSampler]> = d.procs().map((p) => [p.role, sampleRss(p.child.proc.pid!)]);
  const byRole = (f: (s: RssSampler) => number): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const [role, s] of samplers) out[role] = Math.max(out[role] ?? 0, f(s));
    return out;
  };
  return {
    now: () => byRole((s) => s.now()),
    peak: () => byRole((s) => s.peak()),
    reset: () => samplers.forEach(([, s]) => s.reset()),
    stop: () => samplers.forEach(([, s]) => s.stop()),
  };
}

function rssPhase(start: Record<string, number>, peak: Record<string, number>, end: Record<string, number>): Record<string, RssMiB> {
  return Object.fromEntries(Object.keys(start).map((role) => [role, { start: start[role]!, peak: peak[role]!, end: end[role]! }]));
}

function windowOf(l: Load, cpu: CpuByRole): Window {
  const n = l.latencies.length;
  return {
    requests: n,
    seconds: l.seconds,
    requestsPerSecond: n / l.seconds,
    latencyMs: { p50: pct(l.latencies, 50), p99: pct(l.latencies, 99), max: l.latencies.at(-1) },
    cpuMsPerRequest: perUnit(cpu, n),
  };
}

/** CPU per request the rate limit adds: on, less the mean of the off windows around it. */
function rateLimitCost(off: Window, on: Window, offAgain: Window): { apiNodes: number; postgres: number } {
  const extra = (role: CpuRole): number => (on.cpuMsPerRequest[role] ?? 0) - ((off.cpuMsPerRequest[role] ?? 0) + (offAgain.cpuMsPerRequest[role] ?? 0)) / 2;
  return { apiNodes: extra('apiNodes'), postgres: extra('postgres') };
}

async function registerInstances(d: Deployment, ids: readonly string[]): Promise<void> {
  for (const id of ids) {
    const r = await d.admin('POST', '/instances', { instance_id: id, adb_address: '127.0.0.1:9', tenant_id: d.tenantId });
    if (r.status !== 200) throw new Error(`registering ${id}: ${r.status} ${JSON.stringify(r.body)}`);
  }
}

async function runStore(store: StoreKind): Promise<StoreRun> {
  let cluster: PgCluster | undefined;
  let ceiling: StoreRun['ceiling'];
  let boss: BossInsert | null = null;
  if (store === 'sqlite') {
    const synchronous = values.synchronous.toUpperCase() === 'NORMAL' ? 'NORMAL' : 'FULL';
    ceiling = { kind: 'sqlite', ...(await measureSqliteCeiling({ synchronous, seconds: 3, jobsPerTask: 100 })) };
  } else {
    cluster = await pgCluster();
    ceiling = { kind: 'postgres', ...(await measureInsertCeiling(cluster, { seconds: 3, clients: CEILING_CLIENTS, jobsPerTask: 100 })) };
    boss = await measureBossInsert(cluster, { seconds: 3, clients: CEILING_CLIENTS });
  }
  const d = await startDeployment({
    kind: store,
    env: { ADBFLEET_RETRY_WINDOW_SECONDS: '3600', ADBFLEET_SQLITE_SYNCHRONOUS: values.synchronous },
    apiNodes: API_NODES,
    workers: WORKERS,
    cluster,
  });
  try {
    const ids = Array.from({ length: 100 }, (_, i) => `api-${i}`);
    await registerInstances(d, ids);
    const newLoad = () => submitLoad({ urls: () => d.urls, token: d.token, instanceIds: ids, connections: CONNECTIONS });
    const submits = newLoad();
    // Warm-up (spread over the nodes), then the backlog (if asked for), then the measured window.
    for (let i = 0; i < 200; i++) await submits.post(i);
    const rss = rssByRole(d);
    const rssStart = rss.now();
    let backlog: StoreRun['backlog'] = null;
    if (BACKLOG > 0) {
      const b = await submits.load(() => submits.queuedJobs() < BACKLOG);
      const [first, last] = firstLast(b.perSecond);
      backlog = {
        jobs: submits.queuedJobs(),
        seconds: b.seconds,
        requestsPerSecond: b.latencies.length / b.seconds,
        requestsPerSecondFirst3s: first,
        requestsPerSecondLast3s: last,
        rssMiB: rssPhase(rssStart, rss.peak(), rss.now()),
      };
      rss.reset();
    }
    const rssBefore = rss.now();
    const sources = cpuSources(d, { cluster });
    const cpu = cpuCounter(sources);
    const end = performance.now() + SECONDS * 1000;
    const measured = await submits.load(() => performance.now() < end);
    const main = windowOf(measured, cpu());
    const rssMiB = rssPhase(rssBefore, rss.peak(), rss.now());
    rss.stop();
    submits.close();
    let queuedJobsAtEnd = submits.queuedJobs();

    // The rate limit's cost: API nodes restarted with it on, then off again, each window as the
    // main one; on is set against the mean of the two off windows, so a drift in the machine's
    // load over the run shows less in the difference.
    let rateLimit: StoreRun['rateLimit'] = null;
    if (store === 'postgres') {
      const again = async (env: Record<string, string>): Promise<Window> => {
        await d.restartApi(env);
        const l = newLoad();
        for (let i = 0; i < 200; i++) await l.post(i);
        const counted = cpuCounter(cpuSources(d, { cluster }));
        const stop = performance.now() + SECONDS * 1000;
        const w = windowOf(await l.load(() => performance.now() < stop), counted());
        l.close();
        queuedJobsAtEnd += l.queuedJobs();
        return w;
      };
      const on = await again(RATE_LIMIT_ON);
      const offAgain = await again({});
      rateLimit = { perSecond: Number(RATE_LIMIT_ON.ADBFLEET_RATE_LIMIT), on, offAgain, extraMsPerRequest: rateLimitCost(main, on, offAgain) };
    }
    const allows = machineAllows(main.cpuMsPerRequest);
    const [first, last] = firstLast(measured.perSecond);
    return {
      store,
      shape: d.shape,
      ...main,
      jobsPerSecond: main.requestsPerSecond * ids.length,
      machineAllowsRequestsPerSecond: allows,
      shareOfMachine: main.requestsPerSecond / allows,
      ceiling,
      shareOfCeiling: main.requestsPerSecond / ceiling.tasksPerSecond,
      pgBoss: boss === null ? null : { ...boss, oursOverPgBoss: (main.requestsPerSecond * ids.length) / boss.jobsPerSecond },
      rateLimit,
      requestsPerSecondEachSecond: measured.perSecond,
      requestsPerSecondFirst3s: first,
      requestsPerSecondLast3s: last,
      rssMiB,
      queuedJobsAtEnd,
      backlog,
    };
  } finally {
    await d.stop();
  }
}

function print(runs: StoreRun[], loadAtStart: number[]): void {
  const cols = runs.map((r) => (r.store === 'sqlite' ? `SQLite ${values.synchronous}` : 'PostgreSQL'));
  const each = (f: (r: StoreRun) => Cell): Cell[] => runs.map(f);
  const pg = (f: (r: StoreRun & { ceiling: { kind: 'postgres' } }) => Cell) => each((r) => (r.ceiling.kind === 'postgres' ? f(r as StoreRun & { ceiling: { kind: 'postgres' } }) : null));
  const mib = (v: number | undefined): string => (v === undefined ? '-' : `${v.toFixed(0)} MiB`);
  const rssCell = (x: Record<string, RssMiB>) => Object.entries(x).map(([role, v]) => `${role} ${mib(v.start)} / ${mib(v.peak)} / ${mib(v.end)}`).join('; ');
  const roles = [...new Set(runs.flatMap((r) => Object.keys(r.cpuMsPerRequest) as CpuRole[]))];
  if (runs.some((r) => r.backlog !== null)) {
    printTable('Backlog phase', cols, [
      ['jobs queued / seconds', ...each((r) => (r.backlog === null ? null : `${num(r.backlog.jobs)} in ${r.backlog.seconds.toFixed(1)} s`))],
      ['requests/s (first 3 s / last 3 s)', ...each((r) => (r.backlog === null ? null : `${num(r.backlog.requestsPerSecond)} (${num(r.backlog.requestsPerSecondFirst3s)} / ${num(r.backlog.requestsPerSecondLast3s)})`))],
      ['RSS start / peak / end', ...each((r) => (r.backlog === null ? null : rssCell(r.backlog.rssMiB)))],
    ]);
  }
  printTable(`POST async-command, 100 instance ids, ${CONNECTIONS} connections, ${SECONDS} s`, cols, [
    ['processes', ...each((r) => r.shape)],
    ['**requests/s**', ...each((r) => `**${num(r.requestsPerSecond)}**`)],
    [
      'raw ceiling, tasks of 100 jobs/s',
      ...each((r) =>
        r.ceiling.kind === 'sqlite'
          ? `${num(r.ceiling.tasksPerSecond)} (${r.ceiling.tasksPerCommit} per commit, one thread, no HTTP)`
          : `${num(r.ceiling.tasksPerSecond)} (one per transaction, ${r.ceiling.clients} connection(s), no HTTP)`,
      ),
    ],
    ['**share of the ceiling**', ...each((r) => `**${pctOf(r.shareOfCeiling)}** (target >= ${r.store === 'sqlite' ? '70' : '80'}%)`)],
    ['jobs enqueued/s', ...each((r) => num(r.jobsPerSecond))],
    ['pg-boss insert, 100 jobs per call, jobs/s', ...pg((r) => `${num(r.pgBoss?.jobsPerSecond)} (${r.pgBoss?.clients} clients)`)],
    ['**ours / pg-boss** (jobs/s)', ...pg((r) => `**${r.pgBoss?.oursOverPgBoss.toFixed(2)}x** (target >= 1)`)],
    ['latency p50 / p99 / max', ...each((r) => `${r.latencyMs.p50.toFixed(1)} / ${r.latencyMs.p99.toFixed(1)} / ${r.latencyMs.max?.toFixed(1)} ms`)],
    ...roles.map((role): [string, ...Cell[]] => [`CPU per request: ${ROLE_NAMES[role]}`, ...each((r) => (r.cpuMsPerRequest[role] === undefined ? null : ms(r.cpuMsPerRequest[role])))]),
    ['CPU per request, every process', ...each((r) => ms(totalMs(r.cpuMsPerRequest)))],
    [`the machine allows (${cpus().length} cores / CPU per request)`, ...each((r) => `${num(r.machineAllowsRequestsPerSecond)} requests/s`)],
    ['share of the machine', ...each((r) => pctOf(r.shareOfMachine))],
    ['raw ceiling: PostgreSQL server CPU per task', ...pg((r) => ms(r.ceiling.postgresCpuMsPerTask))],
    [
      'shared rate limit (ADBFLEET_RATE_LIMIT 1,000,000/s): requests/s off / on / off',
      ...pg((r) => `${num(r.requestsPerSecond)} / ${num(r.rateLimit?.on.requestsPerSecond)} / ${num(r.rateLimit?.offAgain.requestsPerSecond)}`),
    ],
    [
      '**rate limit CPU per request**: API nodes + PostgreSQL, on less the mean of off',
      ...pg((r) => {
        const x = r.rateLimit!.extraMsPerRequest;
        const sign = (v: number): string => `${v >= 0 ? '+' : ''}${v.toFixed(3)} ms`;
        return `**${sign(x.apiNodes + x.postgres)}** (${sign(x.apiNodes)} + ${sign(x.postgres)})`;
      }),
    ],
    ['requests/s, first 3 s / last 3 s', ...each((r) => `${num(r.requestsPerSecondFirst3s)} / ${num(r.requestsPerSecondLast3s)}`)],
    ['RSS start / peak / end (target < 200 MiB with 2,000,000 queued)', ...each((r) => rssCell(r.rssMiB))],
    ['jobs queued at the end', ...each((r) => num(r.queuedJobsAtEnd))],
  ]);
  console.log(`\nload average at start ${loadAtStart.map((l) => l.toFixed(2)).join(' ')}, at end ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
}

async function main(): Promise<void> {
  const loadAtStart = loadavg();
  const runs: StoreRun[] = [];
  for (const store of STORES) runs.push(await runStore(store));
  const cluster = STORES.includes('postgres') ? await pgCluster() : null;
  print(runs, loadAtStart);
  const result = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavgAtStart: loadAtStart, loadavgAtEnd: loadavg(), node: process.version },
    postgresServer: cluster === null ? null : { version: cluster.version, settings: cluster.settings },
    params: {
      seconds: SECONDS,
      connections: CONNECTIONS,
      instancesPerRequest: 100,
      synchronous: values.synchronous,
      backlog: BACKLOG,
      apiNodes: API_NODES,
      workers: WORKERS,
      ceilingClients: CEILING_CLIENTS,
    },
    ...Object.fromEntries(runs.map((r) => [r.store, r])),
  };
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/api.json', `${JSON.stringify(result, null, 2)}\n`);
}

// Killed or interrupted: exit, so the cluster and the service processes are stopped (their exit hooks).
process.once('SIGINT', () => process.exit(130));
process.once('SIGTERM', () => process.exit(143));
await main();
