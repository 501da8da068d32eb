// pg-boss (10.4.2), the reference queue on PostgreSQL, on the same cluster in the same run, each
// measure in a database of its own: insert 100 jobs per call from `clients` calls at once (what a
// submit of 100 ids is to us), and fetch 100 + complete them from 1 and 2 consumers (what a
// worker's claim and finish are). Its maintenance and scheduling are off, so only these calls run.
import PgBoss from 'pg-boss';
import { drain } from './pg-ceiling.js';
import type { PgCluster } from './pg-cluster.js';

const QUEUE = 'bench';
const WARMUP_MS = 500;
const PER_CALL = 100;

export interface BossInsert {
  clients: number;
  jobsPerCall: number;
  jobsPerSecond: number;
  jobs: number;
  seconds: number;
  postgresCpuMsPerJob: number;
}

export interface BossConsume {
  consumers: number;
  jobsPerFetch: number;
  jobsPerSecond: number;
  jobs: number;
  seconds: number;
  postgresCpuMsPerJob: number;
}

async function boss(cluster: PgCluster, max: number): Promise<PgBoss> {
  const b = new PgBoss({ connectionString: await cluster.database(), max, supervise: false, schedule: false });
  b.on('error', (err: Error) => process.stderr.write(`pg-boss: ${err.message}\n`));
  await b.start();
  await b.createQueue(QUEUE);
  return b;
}

/** The jobs of one call: a command and an instance each, as a task's jobs carry. */
function batch(): PgBoss.JobInsert[] {
  return Array.from({ length: PER_CALL }, (_, i) => ({ name: QUEUE, data: { command: 'echo hello', instance: `bench-${i}` } }));
}

/** complete(name, ids, data): the output stored with each job, as our finish stores it. pg-boss
 * takes an array of ids with data (manager.js maps either), but its types declare ids only
 * without data. */
function completeWithOutput(b: PgBoss, ids: string[], data: object): Promise<unknown> {
  const complete = b.complete.bind(b) as unknown as (name: string, ids: string[], data: object) => Promise<unknown>;
  return complete(QUEUE, ids, data);
}

async function timed(loops: number, ms: number, step: () => Promise<number>): Promise<{ done: number; seconds: number }> {
  const t0 = performance.now();
  let done = 0;
  await Promise.all(
    Array.from({ length: loops }, async () => {
      while (performance.now() - t0 < ms) done += await step();
    }),
  );
  return { done, seconds: (performance.now() - t0) / 1000 };
}

export async function measureBossInsert(cluster: PgCluster, o: { seconds: number; clients: number }): Promise<BossInsert> {
  const b = await boss(cluster, o.clients);
  try {
    const step = async (): Promise<number> => {
      await b.insert(batch());
      return PER_CALL;
    };
    await timed(o.clients, WARMUP_MS, step);
    const cpu0 = cluster.cpuMs();
    const { done, seconds } = await timed(o.clients, o.seconds * 1000, step);
    const cpu = cluster.cpuMs() - cpu0;
    return { clients: o.clients, jobsPerCall: PER_CALL, jobsPerSecond: done / seconds, jobs: done, seconds, postgresCpuMsPerJob: cpu / done };
  } finally {
    await b.stop({ graceful: false, wait: true });
  }
}

/** Fetch + complete from each consumer count in turn, over rounds of `roundJobs` jobs as the
 * claim ceiling's (pg-ceiling.ts): queued and vacuumed between rounds, not measured; drained. */
export async function measureBossConsume(cluster: PgCluster, o: { seconds: number; consumers: readonly number[]; roundJobs: number }): Promise<BossConsume[]> {
  const out: BossConsume[] = [];
  for (const consumers of o.consumers) {
    // A database per consumer count: each starts on a queue no other has worked.
    const b = await boss(cluster, Math.max(consumers, 10));
    try {
      const step = async (): Promise<number> => {
        const got = await b.fetch(QUEUE, { batchSize: PER_CALL });
        // [] also when fetch failed (pg-boss swallows its errors): then the round ends short,
        // and the check below says so.
        if (got.length === 0) return 0;
        await completeWithOutput(
          b,
          got.map((j) => j.id),
          { output: 'hello\n' },
        );
        return got.length;
      };
      const round = async (): Promise<{ done: number; seconds: number; cpu: number }> => {
        let calls = Math.ceil(o.roundJobs / PER_CALL);
        await Promise.all(
          Array.from({ length: 10 }, async () => {
            while (calls-- > 0) await b.insert(batch());
          }),
        );
        // As the claim ceiling's table: fresh statistics, no dead index entries.
        await b.getDb().executeSql('VACUUM ANALYZE pgboss.job', []);
        const cpu0 = cluster.cpuMs();
        const { done, seconds } = await drain(Array.from({ length: consumers }), step);
        if (done < o.roundJobs) throw new Error(`pg-boss: ${done} of the round's ${o.roundJobs} jobs fetched; fetch failed (pg-boss hides why)`);
        return { done, seconds, cpu: cluster.cpuMs() - cpu0 };
      };
      await round(); // warm-up
      const total = { done: 0, seconds: 0, cpu: 0 };
      while (total.seconds < o.seconds) {
        const r = await round();
        total.done += r.done;
        total.seconds += r.seconds;
        total.cpu += r.cpu;
      }
      out.push({ consumers, jobsPerFetch: PER_CALL, jobsPerSecond: total.done / total.seconds, jobs: total.done, seconds: total.seconds, postgresCpuMsPerJob: total.cpu / total.done });
    } finally {
      await b.stop({ graceful: false, wait: true });
    }
  }
  return out;
}
