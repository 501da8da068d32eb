// API and store alone: POST async-command with 100 instance ids from 50 keep-alive connections
// against `adbfleet serve` in its own process. The instances point at a closed port, so the worker
// only holds the jobs (retrying the connection) while the API and the store take the load.
// First, with nothing else running, the raw SQLite ceiling for the same writes (lib/sqlite-ceiling.ts):
// the service's requests/s is reported as a share of it.
// --backlog N first submits until N jobs are queued (they stay queued: the instances are
// unreachable and the retry window is an hour), then measures the window on top of that backlog.
// The service's RSS is sampled every 250 ms (peak and end of each phase), and requests/s per
// second show whether the rate holds as the queue grows.
// Usage: node --import tsx bench/api.ts [--seconds 10] [--connections 50] [--synchronous FULL|NORMAL] [--backlog N]
// Prints a table and writes bench/results/api.json.
import { Agent, request as httpRequest } from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { cpuMs, pct } from './lib/measure.js';
import { sampleRss } from './lib/rss.js';
import { startBenchService } from './lib/service.js';
import { measureSqliteCeiling } from './lib/sqlite-ceiling.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    synchronous: { type: 'string', default: 'FULL' },
    backlog: { type: 'string', default: '0' },
  },
});
const SECONDS = Number(values.seconds);
const CONNECTIONS = Number(values.connections);
const BACKLOG = Number(values.backlog);

interface Load {
  latencies: number[];
  /** requests completed in each whole second from the start */
  perSecond: number[];
  seconds: number;
}

interface BacklogPhase {
  jobs: number;
  seconds: number;
  requestsPerSecond: number;
  requestsPerSecondFirst3s: number;
  requestsPerSecondLast3s: number;
  rssMiB: { start: number; peak: number; end: number };
}

/** Mean requests/s over the first and the last n whole seconds (the last, partial one left out). */
function firstLast(perSecond: readonly number[], n = 3): [number, number] {
  const whole = perSecond.slice(0, -1);
  const mean = (xs: readonly number[]): number => (xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length);
  return [mean(whole.slice(0, n)), mean(whole.slice(-n))];
}

async function main(): Promise<void> {
  const synchronous = values.synchronous.toUpperCase() === 'NORMAL' ? 'NORMAL' : 'FULL';
  const ceiling = await measureSqliteCeiling({ synchronous, seconds: 3, jobsPerTask: 100 });
  const service = await startBenchService({
    ADBFLEET_RETRY_WINDOW_SECONDS: '3600',
    ADBFLEET_SQLITE_SYNCHRONOUS: values.synchronous,
  });
  try {
    const ids = Array.from({ length: 100 }, (_, i) => `api-${i}`);
    for (const id of ids) {
      await service.admin('POST', '/instances', { instance_id: id, adb_address: '127.0.0.1:9', tenant_id: service.tenantId });
    }
    const url = new URL('/v1/instances/async-command', service.url);
    const body = JSON.stringify({ command: 'echo hello', instance_ids: ids });
    const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
    const post = (): Promise<number> =>
      new Promise((resolve, reject) => {
        const t0 = performance.now();
        const req = httpRequest(
          url,
          {
            method: 'POST',
            agent,
            headers: {
              'content-type': 'application/json',
              'content-length': Buffer.byteLength(body),
              'x-auth-token': service.token,
              'x-request-id': randomUUID(),
            },
          },
          (res) => {
            res.resume();
            res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - t0) : reject(new Error(`HTTP ${res.statusCode}`))));
          },
        );
        req.on('error', reject);
        req.end(body);
      });

    let queuedJobs = 0;
    /** Posts from every connection while more() says so. */
    const load = async (more: () => boolean): Promise<Load> => {
      const out: Load = { latencies: [], perSecond: [], seconds: 0 };
      const start = performance.now();
      await Promise.all(
        Array.from({ length: CONNECTIONS }, async () => {
          while (more()) {
            out.latencies.push(await post());
            queuedJobs += ids.length;
            const s = Math.floor((performance.now() - start) / 1000);
            out.perSecond[s] = (out.perSecond[s] ?? 0) + 1;
          }
        }),
      );
      out.seconds = (performance.now() - start) / 1000;
      out.perSecond = Array.from(out.perSecond, (v) => v ?? 0);
      return out;
    };

    // Warm-up, then the backlog (if asked for), then the measured window.
    for (let i = 0; i < 200; i++) {
      await post();
      queuedJobs += ids.length;
    }
    const pid = service.child.proc.pid!;
    const rss = sampleRss(pid);
    const rssStart = rss.now();
    let backlog: BacklogPhase | null = null;
    if (BACKLOG > 0) {
      const b = await load(() => queuedJobs < BACKLOG);
      const [first, last] = firstLast(b.perSecond);
      backlog = {
        jobs: queuedJobs,
        seconds: b.seconds,
        requestsPerSecond: b.latencies.length / b.seconds,
        requestsPerSecondFirst3s: first,
        requestsPerSecondLast3s: last,
        rssMiB: { start: rssStart, peak: rss.peak(), end: rss.now() },
      };
      rss.reset();
    }
    const rssBefore = rss.now();
    const cpu0 = cpuMs(pid);
    const end = performance.now() + SECONDS * 1000;
    const measured = await load(() => performance.now() < end);
    const { latencies, seconds } = measured;
    const serviceCpu = cpuMs(pid) - cpu0;
    const rssEnd = rss.now();
    rss.stop();
    agent.destroy();
    latencies.sort((a, b) => a - b);
    const [first, last] = firstLast(measured.perSecond);
    const result = {
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavg: loadavg(), node: process.version },
      params: { seconds: SECONDS, connections: CONNECTIONS, instancesPerRequest: 100, synchronous: values.synchronous, backlog: BACKLOG },
      requests: latencies.length,
      requestsPerSecond: latencies.length / seconds,
      jobsPerSecond: (latencies.length * 100) / seconds,
      latencyMs: { p50: pct(latencies, 50), p99: pct(latencies, 99), max: latencies.at(-1) },
      serviceCpuMsPerRequest: serviceCpu / latencies.length,
      sqliteCeiling: ceiling,
      shareOfCeiling: latencies.length / seconds / ceiling.tasksPerSecond,
      requestsPerSecondEachSecond: measured.perSecond,
      requestsPerSecondFirst3s: first,
      requestsPerSecondLast3s: last,
      /** the service's resident memory over the measured window (sampled every 250 ms) */
      rssMiB: { start: rssBefore, peak: rss.peak(), end: rssEnd },
      /** every job submitted stays queued: the instances are unreachable, the retry window 1 h */
      queuedJobsAtEnd: queuedJobs,
      backlog,
    };
    const mib = (v: number): string => `${v.toFixed(0)} MiB`;
    if (backlog !== null) {
      console.log(`\nBacklog: ${backlog.jobs.toLocaleString('en')} jobs queued in ${backlog.seconds.toFixed(1)} s`);
      console.log('| measure | value |\n|---|---|');
      console.log(
        `| requests/s (first 3 s / last 3 s) | ${backlog.requestsPerSecond.toFixed(0)} (${backlog.requestsPerSecondFirst3s.toFixed(0)} / ${backlog.requestsPerSecondLast3s.toFixed(0)}) |`,
      );
      console.log(`| service RSS start / peak / end | ${mib(backlog.rssMiB.start)} / ${mib(backlog.rssMiB.peak)} / ${mib(backlog.rssMiB.end)} |`);
    }
    console.log(`\nPOST async-command, 100 instance ids, ${CONNECTIONS} connections, ${SECONDS} s, SQLite ${values.synchronous}`);
    console.log('| measure | value |\n|---|---|');
    console.log(`| **requests/s** | **${result.requestsPerSecond.toFixed(0)}** (target >= 2,000 with p99 < 100 ms, or >= 70% of the ceiling) |`);
    console.log(`| raw SQLite ceiling, tasks of 100 jobs/s (${ceiling.tasksPerCommit} per commit, one thread, no HTTP) | ${ceiling.tasksPerSecond.toFixed(0)} |`);
    console.log(`| **share of the ceiling** | **${(result.shareOfCeiling * 100).toFixed(0)}%** |`);
    console.log(`| jobs enqueued/s | ${result.jobsPerSecond.toFixed(0)} |`);
    console.log(`| latency p50 / p99 / max | ${result.latencyMs.p50.toFixed(1)} / ${result.latencyMs.p99.toFixed(1)} / ${result.latencyMs.max?.toFixed(1)} ms (target p99 < 100) |`);
    console.log(`| service CPU per request | ${result.serviceCpuMsPerRequest.toFixed(3)} ms |`);
    console.log(`| requests/s, first 3 s / last 3 s | ${first.toFixed(0)} / ${last.toFixed(0)} |`);
    console.log(`| service RSS start / peak / end | ${mib(rssBefore)} / ${mib(result.rssMiB.peak)} / ${mib(rssEnd)} (target < 200 MiB with 2,000,000 queued) |`);
    console.log(`| jobs queued at the end | ${queuedJobs.toLocaleString('en')} |`);
    console.log(`| load average | ${loadavg().map((l) => l.toFixed(2)).join(' ')} |`);
    mkdirSync('bench/results', { recursive: true });
    writeFileSync('bench/results/api.json', `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await service.stop();
  }
}

await main();
