// Device operations through the service (SPEC §10) against Debian's adb doing the same work, in one
// run, on the same simulated instances (the simulator in its own process, the service compiled in
// another):
//   screenshot  one screenshot task for --instances instances (submit -> every job final, then each
//               PNG read back through GET .../artifact, 8 at a time) vs `adb exec-out screencap -p` per instance,
//               16 processes at a time, through one adb server that has every instance connected;
//   push        a --push-mib file uploaded (POST /v1/artifacts) and pushed to --push-instances
//               instances by one task vs `adb push` of the same file to each, all at once;
//   pull        that file pulled back from those instances by one task (each job's file an artifact
//               in the service's data directory) vs `adb pull` from each to a local file, all at once;
//   install     an APK built with Debian's aapt, installed on every instance by one install task vs
//               `adb install` per instance, 16 at a time (skipped without aapt).
// Each side runs once untimed first (connections, the adb server's transports, page cache).
// Usage: node --import tsx bench/ops.ts [--instances 100] [--push-mib 64] [--push-instances 10] [--rounds 3]
// Prints a table and writes bench/results/ops.json.
import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync, createReadStream } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { aaptSkip, buildApk, debianAdbSkip, DEBIAN_ADB, request, startAdbServer, startSimProcess, type AdbServer } from '../test/support/index.js';
import { cpuMs } from './lib/measure.js';
import { sampleRss } from './lib/rss.js';
import { startBenchService, type BenchService } from './lib/service.js';
import { num, printTable } from './lib/table.js';

const { values } = parseArgs({
  options: {
    instances: { type: 'string', default: '100' },
    'push-mib': { type: 'string', default: '64' },
    'push-instances': { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
  },
});
const INSTANCES = Number(values.instances);
const PUSH_MIB = Number(values['push-mib']);
const PUSH_INSTANCES = Number(values['push-instances']);
const ROUNDS = Number(values.rounds);
const ADB_PARALLEL = 16;
const MiB = 1024 * 1024;

interface Row {
  op: string;
  client: string;
  /** the median round */
  seconds: number;
  rounds: number[];
  /** bytes moved per round (screenshots read back, file bytes pushed, APK bytes installed) */
  bytes: number;
  /** per instance, the median round */
  msPerInstance: number;
  /** the service's CPU (ours) or the adb server's and clients' (Debian), per instance, ms */
  cpuMsPerInstance: number;
  /** the simulator's CPU per instance, ms: the devices' share, the same work for both clients */
  simCpuMsPerInstance: number;
  /** the service's RSS peak over this operation's rounds, MiB (ours only) */
  serviceRssPeakMiB: number | null;
}

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function tenantCall(svc: BenchService) {
  return (method: string, path: string, body?: unknown) => request(svc.url, method, path, body, { 'x-auth-token': svc.token, 'x-request-id': randomUUID() });
}

/** Submits an operation and waits for every job to be final; returns the jobs. */
async function runTask(svc: BenchService, path: string, body: unknown): Promise<{ taskId: string; jobs: { job_id: string; state: string; error_msg: string }[] }> {
  const call = tenantCall(svc);
  const r = await call('POST', path, body);
  if (r.status !== 200) throw new Error(`${path}: ${r.status} ${JSON.stringify(r.body)}`);
  const taskId: string = r.body.data.task_id;
  for (;;) {
    const t = await call('GET', `/v1/instances/tasks/${taskId}`);
    const jobs = t.body.data.jobs as { job_id: string; state: string; error_msg: string }[];
    if (jobs.every((j) => j.state !== 'queued' && j.state !== 'running')) {
      const bad = jobs.find((j) => j.state !== 'succeeded');
      if (bad) throw new Error(`${path}: a job ended ${bad.state}: ${bad.error_msg}`);
      return { taskId, jobs };
    }
    await new Promise((res) => setTimeout(res, 10));
  }
}

/** GET a job's artifact, counting its bytes and checking the PNG signature. */
function readArtifact(svc: BenchService, taskId: string, jobId: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${svc.url}/v1/instances/tasks/${taskId}/jobs/${jobId}/artifact`, {
      headers: { 'x-auth-token': svc.token, 'x-request-id': randomUUID() },
    });
    req.once('error', reject);
    req.once('response', (res) => {
      let n = 0;
      let head: Buffer | null = null;
      res.on('data', (d: Buffer) => {
        if (head === null) head = d.subarray(0, 8);
        n += d.length;
      });
      res.once('end', () => {
        if (res.statusCode !== 200 || head === null || head.toString('hex') !== '89504e470d0a1a0a') reject(new Error(`artifact of ${jobId}: ${res.statusCode}`));
        else resolve(n);
      });
    });
    req.end();
  });
}

function upload(svc: BenchService, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${svc.url}/v1/artifacts`, {
      method: 'POST',
      headers: {
        'content-type': 'application/octet-stream',
        'content-length': String(statSync(path).size),
        'x-auth-token': svc.token,
        'x-request-id': randomUUID(),
      },
    });
    req.once('error', reject);
    req.once('response', (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.once('end', () => (res.statusCode === 200 ? resolve(JSON.parse(text).data.artifact_id) : reject(new Error(`upload: ${res.statusCode} ${text}`))));
    });
    createReadStream(path).pipe(req);
  });
}

/** Runs `adb ARGS` for each item, `parallel` at a time; resolves with the bytes they printed. */
async function adbEach<T>(server: AdbServer, items: readonly T[], parallel: number, args: (item: T) => string[]): Promise<number> {
  let next = 0;
  let bytes = 0;
  const one = (item: T): Promise<void> =>
    new Promise((resolve, reject) => {
      const p = spawn(DEBIAN_ADB, ['-P', String(server.port), ...args(item)], { stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      p.stdout!.on('data', (d: Buffer) => (bytes += d.length));
      p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      p.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`adb ${args(item).join(' ')}: exit ${code}: ${err.trim()}`))));
    });
  await Promise.all(
    Array.from({ length: Math.min(parallel, items.length) }, async () => {
      while (next < items.length) await one(items[next++]!);
    }),
  );
  return bytes;
}

/** CPU of Debian's side: the adb server plus the adb client processes this process spawned (reaped children). */
const adbCpu = (server: AdbServer): number => cpuMs(server.pid) + cpuMs('self', true);

async function main(): Promise<void> {
  const skip = debianAdbSkip;
  if (skip !== false) throw new Error(skip);
  const sim = await startSimProcess(INSTANCES);
  const svc = await startBenchService({ ADBFLEET_RETRY_WINDOW_SECONDS: '30' });
  const rss = sampleRss(svc.child.proc.pid!, 50);
  const server = await startAdbServer();
  const work = mkdtempSync(join(tmpdir(), 'adbfleet-bench-ops-'));
  const rows: Row[] = [];
  try {
    const ids = sim.addresses.map((_, i) => `ops-${i}`);
    for (const [i, address] of sim.addresses.entries()) {
      const r = await svc.admin('POST', '/instances', { instance_id: ids[i], adb_address: address, tenant_id: svc.tenantId });
      if (r.status !== 200) throw new Error(JSON.stringify(r.body));
    }
    for (const a of sim.addresses) await server.connect(a);
    const svcPid = svc.child.proc.pid!;
    const simPid = sim.child.proc.pid!;

    const measure = async (op: string, client: string, n: number, once: () => Promise<number>, cpu: () => number): Promise<void> => {
      await once();
      rss.reset();
      const times: number[] = [];
      let bytes = 0;
      const c0 = cpu();
      const s0 = cpuMs(simPid);
      for (let r = 0; r < ROUNDS; r++) {
        const t0 = performance.now();
        bytes = await once();
        times.push((performance.now() - t0) / 1000);
      }
      const seconds = median(times);
      rows.push({ op, client, seconds, rounds: times, bytes, msPerInstance: (seconds * 1000) / n, cpuMsPerInstance: (cpu() - c0) / ROUNDS / n,
        simCpuMsPerInstance: (cpuMs(simPid) - s0) / ROUNDS / n,
        serviceRssPeakMiB: client === 'adbfleet' ? rss.peak() : null,
      });
    };

    // Screenshots.
    await measure(
      'screenshot',
      'adbfleet',
      INSTANCES,
      async () => {
        const { taskId, jobs } = await runTask(svc, '/v1/instances/screenshot', { instance_ids: ids });
        // Read back as a client would, a few at a time (adb's side writes each PNG as it comes).
        let bytes = 0;
        let next = 0;
        await Promise.all(
          Array.from({ length: 8 }, async () => {
            while (next < jobs.length) {
              const n = await readArtifact(svc, taskId, jobs[next++]!.job_id);
              bytes += n;
            }
          }),
        );
        return bytes;
      },
      () => cpuMs(svcPid),
    );
    await measure('screenshot', 'adb exec-out', INSTANCES, () => adbEach(server, sim.addresses, ADB_PARALLEL, (a) => ['-s', a, 'exec-out', 'screencap', '-p']), () => adbCpu(server));

    // A file pushed to several instances.
    const file = join(work, 'push.bin');
    const content = Buffer.alloc(PUSH_MIB * MiB);
    for (let at = 0; at < content.length; at += 32) createHash('sha256').update(String(at)).digest().copy(content, at);
    writeFileSync(file, content);
    const pushIds = ids.slice(0, PUSH_INSTANCES);
    const pushAddresses = sim.addresses.slice(0, PUSH_INSTANCES);
    let artifactId = '';
    await measure(
      'upload',
      'adbfleet',
      1,
      async () => {
        artifactId = await upload(svc, file);
        return content.length;
      },
      () => cpuMs(svcPid),
    );
    await measure(
      'push',
      'adbfleet',
      PUSH_INSTANCES,
      async () => {
        await runTask(svc, '/v1/instances/files/push', { artifact_id: artifactId, path: '/sdcard/bench.bin', instance_ids: pushIds, timeout_seconds: 600 });
        return content.length * PUSH_INSTANCES;
      },
      () => cpuMs(svcPid),
    );
    await measure(
      'push',
      'adb push',
      PUSH_INSTANCES,
      async () => (await adbEach(server, pushAddresses, PUSH_INSTANCES, (a) => ['-s', a, 'push', file, '/sdcard/bench.bin']), content.length * PUSH_INSTANCES),
      () => adbCpu(server),
    );

    // That file pulled back from each.
    await measure(
      'pull',
      'adbfleet',
      PUSH_INSTANCES,
      async () => (await runTask(svc, '/v1/instances/files/pull', { path: '/sdcard/bench.bin', instance_ids: pushIds, timeout_seconds: 600 }), content.length * PUSH_INSTANCES),
      () => cpuMs(svcPid),
    );
    await measure(
      'pull',
      'adb pull',
      PUSH_INSTANCES,
      async () => (await adbEach(server, pushAddresses, PUSH_INSTANCES, (a) => ['-s', a, 'pull', '/sdcard/bench.bin', join(work, `pull-${a.replace(/\W/g, '-')}.bin`)]), content.length * PUSH_INSTANCES),
      () => adbCpu(server),
    );

    // An APK installed on every instance.
    if (aaptSkip === false) {
      const apk = await buildApk({ packageName: 'com.adbfleet.bench', versionCode: 1, versionName: '1.0' }, join(work, 'apk'));
      const apkId = await upload(svc, apk);
      const apkBytes = statSync(apk).size;
      await measure(
        'install',
        'adbfleet',
        INSTANCES,
        async () => (await runTask(svc, '/v1/instances/app/install', { artifact_id: apkId, instance_id_list: ids }), apkBytes * INSTANCES),
        () => cpuMs(svcPid),
      );
      await measure('install', 'adb install', INSTANCES, async () => (await adbEach(server, sim.addresses, ADB_PARALLEL, (a) => ['-s', a, 'install', '-r', apk]), apkBytes * INSTANCES), () => adbCpu(server));
    } else console.log(`install skipped: ${aaptSkip}`);
  } finally {
    rss.stop();
    await server.close();
    await svc.stop();
    await sim.child.kill('SIGTERM');
    rmSync(work, { recursive: true, force: true });
  }

  const ours = (op: string): Row | undefined => rows.find((r) => r.op === op && r.client === 'adbfleet');
  const theirs = (op: string): Row | undefined => rows.find((r) => r.op === op && r.client !== 'adbfleet');
  printTable(
    `Device operations, median of ${ROUNDS} rounds (${INSTANCES} instances; push and pull: ${PUSH_MIB} MiB, ${PUSH_INSTANCES} instances); ${cpus().length} cores, load ${loadavg()[0]!.toFixed(2)}`,
    ['client', 'seconds', 'ms/instance', 'MiB moved', 'MiB/s', 'client CPU ms/instance', 'simulator CPU ms/instance', 'service RSS peak MiB', 'speed vs adb'],
    rows.map((r) => {
      const other = r.client === 'adbfleet' ? theirs(r.op) : undefined;
      return [
        r.op,
        r.client,
        num(r.seconds, 2),
        num(r.msPerInstance, 1),
        num(r.bytes / MiB, 1),
        num(r.bytes / MiB / r.seconds, 1),
        num(r.cpuMsPerInstance, 2),
        num(r.simCpuMsPerInstance, 2),
        r.serviceRssPeakMiB === null ? null : num(r.serviceRssPeakMiB, 1),
        other ? `${(other.seconds / r.seconds).toFixed(2)}x` : null,
      ] as const;
    }),
  );
  const result = {
    at: new Date().toISOString(),
    machine: { cores: cpus().length, load: loadavg() },
    options: { instances: INSTANCES, pushMiB: PUSH_MIB, pushInstances: PUSH_INSTANCES, rounds: ROUNDS, adbParallel: ADB_PARALLEL },
    rows,
    ratios: Object.fromEntries(['screenshot', 'push', 'pull', 'install'].flatMap((op) => {
      const a = ours(op);
      const b = theirs(op);
      return a && b ? [[op, b.seconds / a.seconds]] : [];
    })),
    serviceRssPeakMiB: Math.max(...rows.map((r) => r.serviceRssPeakMiB ?? 0)),
  };
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/ops.json', `${JSON.stringify(result, null, 2)}\n`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
