// ADB client throughput: 50 simulated instances (the simulator in its own process) running
// `echo` commands through (1) our AdbPool, (2) Tango over direct TCP, (3) Debian's adb CLI,
// (4) our pool through Debian's adb server (adb-server://, the instances `adb connect`ed to it),
// with the same command and the same commands in flight per instance as (1).
// Each client runs untimed warm-up commands first (the JIT, socket buffers, the adb server): a cold
// window measures mostly warm-up, and steady state is what a long-running worker sees.
// Usage: node --import tsx bench/adb.ts [--instances 50] [--commands 200] [--baseline-commands 20] [--inflight 8]
//        [--warmup 5000] [--baseline-warmup 250] [--server-commands 40] [--clients ours,tango,cli,server,memory]
// Prints a table and writes bench/results/adb.json.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { AdbPool, AdbServerPool, connectAdb, parseAddress, type AdbConnection } from '../src/adb/index.js';
import { ADB_TIMEOUTS, MAX_OUTPUT_BYTES, debianAdbSkip, freePort, startAdbServer, startSimProcess, testKey, type Child } from '../test/support/index.js';
import { tangoConnect, tangoExec } from '../test/support/tango.js';
import { cpuMs } from './lib/measure.js';

const { values } = parseArgs({
  options: {
    instances: { type: 'string', default: '50' },
    commands: { type: 'string', default: '200' },
    'baseline-commands': { type: 'string', default: '20' },
    inflight: { type: 'string', default: '8' },
    /** untimed commands before timing ours (in all, spread over the instances) */
    warmup: { type: 'string', default: '5000' },
    /** the same for Tango; the CLI warms with one command per parallel slot (a process each) */
    'baseline-warmup': { type: 'string', default: '250' },
    /** per instance, through the adb server (a TCP connection to the server per command) */
    'server-commands': { type: 'string', default: '40' },
    clients: { type: 'string', default: 'ours,tango,cli,server,memory' },
  },
});
const INSTANCES = Number(values.instances);
const COMMANDS = Number(values.commands);
const BASELINE_COMMANDS = Number(values['baseline-commands']);
const SERVER_COMMANDS = Number(values['server-commands']);
/** commands in flight per instance at once (each instance's commands run on its one connection) */
const INFLIGHT = Number(values.inflight);
/** warm-up commands per instance, rounded up from the totals asked for */
const WARMUP = Math.ceil(Number(values.warmup) / INSTANCES);
const BASELINE_WARMUP = Math.ceil(Number(values['baseline-warmup']) / INSTANCES);
const CLI_PARALLEL = 16;
const CLIENTS = new Set(values.clients.split(','));

interface Row {
  client: string;
  /** untimed commands run first */
  warmupCommands: number;
  commands: number;
  seconds: number;
  perSecond: number;
  /** client CPU per command, ms (the adb CLI's: its processes' CPU, from /proc) */
  cpuMsPerCommand: number;
  /** simulator CPU per command, ms: shows when the device side is the limit */
  simCpuMsPerCommand: number;
  /** the adb server's CPU per command, ms (the adb-server row only) */
  adbServerCpuMsPerCommand?: number;
}

/** The simulator in its own process (startSimProcess), as one host and its instances' ports. */
async function startSim(): Promise<{ child: Child; host: string; ports: number[] }> {
  const { child, addresses } = await startSimProcess(INSTANCES);
  const parsed = addresses.map((a) => parseAddress(a) ?? { host: '', port: 0 });
  const host = parsed[0]?.host ?? '127.0.0.1';
  if (parsed.some((p) => p.host !== host)) throw new Error(`the simulator's instances are not on one host: ${addresses.join(' ')}`);
  return { child, host, ports: parsed.map((p) => p.port) };
}

/** Runs perInstance commands on every instance, `inflight` at a time per instance. */
async function drive(addresses: string[], perInstance: number, inflight: number, run: (i: number) => Promise<void>): Promise<void> {
  await Promise.all(
    addresses.map(async (_a, i) => {
      let next = 0;
      const lane = async (): Promise<void> => {
        while (next < perInstance) {
          next++;
          await run(i);
        }
      };
      await Promise.all(Array.from({ length: Math.min(inflight, perInstance) }, lane));
    }),
  );
}

async function measure(
  client: string,
  warmupCommands: number,
  simPid: number,
  total: number,
  body: () => Promise<void>,
  cpu: () => number,
): Promise<Row> {
  const cpu0 = cpu();
  const sim0 = cpuMs(simPid);
  const t0 = performance.now();
  await body();
  const seconds = (performance.now() - t0) / 1000;
  return {
    client,
    warmupCommands,
    commands: total,
    seconds,
    perSecond: total / seconds,
    cpuMsPerCommand: (cpu() - cpu0) / total,
    simCpuMsPerCommand: (cpuMs(simPid) - sim0) / total,
  };
}

const selfCpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function benchOurs(host: string, ports: number[], simPid: number): Promise<Row> {
  const pool = new AdbPool({ ...ADB_TIMEOUTS, key: testKey() });
  const addresses = ports.map((p) => `${host}:${p}`);
  try {
    await Promise.all(addresses.map((a) => pool.connect(a)));
    const run = async (i: number): Promise<void> => {
      const r = await pool.exec(addresses[i]!, 'echo x', { timeoutMs: 30_000, maxOutputBytes: MAX_OUTPUT_BYTES });
      if (r.exitCode !== 0 || r.stdout.toString() !== 'x\n') throw new Error(`unexpected result ${JSON.stringify(r)}`);
    };
    await drive(addresses, WARMUP, INFLIGHT, run);
    return await measure('adbfleet AdbPool', addresses.length * WARMUP, simPid, addresses.length * COMMANDS, () => drive(addresses, COMMANDS, INFLIGHT, run), selfCpuMs);
  } finally {
    await pool.close();
  }
}

async function benchTango(host: string, ports: number[], simPid: number): Promise<Row> {
  const adbs = await Promise.all(ports.map((p) => tangoConnect(host, p, testKey().privateKey)));
  try {
    const run = async (i: number): Promise<void> => {
      const r = await tangoExec(adbs[i]!, 'echo x');
      if (r.exitCode !== 0 || r.stdout.toString() !== 'x\n') throw new Error('unexpected Tango result');
    };
    const addresses = ports.map(String);
    await drive(addresses, BASELINE_WARMUP, INFLIGHT, run);
    return await measure('Tango (@yume-chan/adb 2.6)', ports.length * BASELINE_WARMUP, simPid, ports.length * BASELINE_COMMANDS, () => drive(addresses, BASELINE_COMMANDS, INFLIGHT, run), selfCpuMs);
  } finally {
    await Promise.all(adbs.map((a) => a.close().catch(() => {})));
  }
}

function runAdb(env: NodeJS.ProcessEnv, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('adb', args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => resolve({ code, out }));
  });
}

async function benchCli(host: string, ports: number[], simPid: number): Promise<Row | null> {
  if (spawnSync('adb', ['version']).status !== 0) {
    console.log('adb CLI row skipped: adb is not installed');
    return null;
  }
  const home = mkdtempSync(join(tmpdir(), 'adbfleet-bench-adb-'));
  // A port free now (the simulator's ports are taken already): a random one could be an
  // instance's, and adb would then talk its client protocol to an adbd.
  const serverPort = String(await freePort());
  const env = { ...process.env, HOME: home, ADB_EMU: '0', ANDROID_ADB_SERVER_PORT: serverPort };
  const adb = (args: string[]) => runAdb(env, ['-P', serverPort, ...args]);
  try {
    await adb(['start-server']);
    const serials = ports.map((p) => `${host}:${p}`);
    for (const s of serials) {
      // `adb connect` exits 0 even when it fails: read what it says.
      const r = await adb(['connect', s]);
      if (!/connected to/.test(r.out)) throw new Error(`adb connect ${s}: ${r.out.trim()}`);
    }
    const jobs: string[] = serials.slice(0, CLI_PARALLEL);
    const work = async (): Promise<void> => {
      for (let s = jobs.shift(); s !== undefined; s = jobs.shift()) {
        const r = await adb(['-s', s, 'shell', 'echo', 'x']);
        if (r.code !== 0 || r.out !== 'x\n') throw new Error(`adb shell on ${s}: ${JSON.stringify(r)}`);
      }
    };
    // Warm-up: the adb server's first shells, one per parallel slot (each command is its own process).
    const warmup = jobs.length;
    await Promise.all(Array.from({ length: CLI_PARALLEL }, work));
    for (let k = 0; k < BASELINE_COMMANDS; k++) jobs.push(...serials);
    return await measure(
      `Debian adb CLI (${CLI_PARALLEL} in parallel)`,
      warmup,
      simPid,
      serials.length * BASELINE_COMMANDS,
      () => Promise.all(Array.from({ length: CLI_PARALLEL }, work)).then(() => {}),
      () => cpuMs('self', true),
    );
  } finally {
    await adb(['kill-server']);
    rmSync(home, { recursive: true, force: true });
  }
}

/**
 * Our pool through Debian's adb server: the same `echo` and the same commands in flight per
 * instance as benchOurs, each command a TCP connection to the server (host:transport, then
 * shell v2), at most the pool's 64 sockets to the server at once.
 */
async function benchServer(host: string, ports: number[], simPid: number): Promise<Row | null> {
  if (debianAdbSkip !== false) {
    console.log(`adb server row skipped: ${debianAdbSkip}`);
    return null;
  }
  const server = await startAdbServer();
  const pool = new AdbServerPool({ connectTimeoutMs: ADB_TIMEOUTS.connectTimeoutMs, openTimeoutMs: ADB_TIMEOUTS.openTimeoutMs });
  try {
    const serials = ports.map((p) => `${host}:${p}`);
    for (const s of serials) await server.connect(s);
    const addresses = serials.map((s) => `adb-server://127.0.0.1:${server.port}/${s}`);
    await Promise.all(addresses.map((a) => pool.connect(a)));
    const run = async (i: number): Promise<void> => {
      const r = await pool.exec(addresses[i]!, 'echo x', { timeoutMs: 30_000, maxOutputBytes: MAX_OUTPUT_BYTES });
      if (r.exitCode !== 0 || r.stdout.toString() !== 'x\n') throw new Error(`unexpected result ${JSON.stringify(r)}`);
    };
    await drive(addresses, BASELINE_WARMUP, INFLIGHT, run);
    const server0 = cpuMs(server.pid);
    const row = await measure('adbfleet through the adb server', addresses.length * BASELINE_WARMUP, simPid, addresses.length * SERVER_COMMANDS, () => drive(addresses, SERVER_COMMANDS, INFLIGHT, run), selfCpuMs);
    row.adbServerCpuMsPerCommand = (cpuMs(server.pid) - server0) / row.commands;
    return row;
  } finally {
    await pool.close();
    await server.close();
  }
}

/** Heap and off-heap bytes held per open, idle connection (what a 10,000-phone fleet costs). */
async function memoryPerConnection(host: string, ports: number[], perInstance: number): Promise<{ connections: number; bytesPerConnection: number }> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const key = testKey();
  const settle = async (): Promise<number> => {
    await new Promise((r) => setTimeout(r, 200));
    gc();
    gc();
    const m = process.memoryUsage();
    return m.heapUsed + m.external + m.arrayBuffers;
  };
  const before = await settle();
  const conns: AdbConnection[] = [];
  for (let k = 0; k < perInstance; k++) conns.push(...(await Promise.all(ports.map((p) => connectAdb(`${host}:${p}`, { ...ADB_TIMEOUTS, key })))));
  await Promise.all(conns.map((c) => c.exec('echo warm', { timeoutMs: 30_000, maxOutputBytes: MAX_OUTPUT_BYTES })));
  const after = await settle();
  for (const c of conns) c.close();
  return { connections: conns.length, bytesPerConnection: (after - before) / conns.length };
}

const sim = await startSim();
let memory: { connections: number; bytesPerConnection: number } | null = null;
let served: Row | null = null;
const rows: Row[] = [];
try {
  rows.push(await benchOurs(sim.host, sim.ports, sim.child.proc.pid!));
  if (CLIENTS.has('tango')) rows.push(await benchTango(sim.host, sim.ports, sim.child.proc.pid!));
  const cli = CLIENTS.has('cli') ? await benchCli(sim.host, sim.ports, sim.child.proc.pid!) : null;
  if (cli !== null) rows.push(cli);
  served = CLIENTS.has('server') ? await benchServer(sim.host, sim.ports, sim.child.proc.pid!) : null;
  if (served !== null) rows.push(served);
  if (CLIENTS.has('memory')) memory = await memoryPerConnection(sim.host, sim.ports, 20);
} finally {
  await sim.child.kill('SIGTERM');
}

const ours = rows[0]!;
console.log(`\n${INSTANCES} instances, ${INFLIGHT} commands in flight per instance; simulator in its own process\n`);
console.log('| client | warm-up commands (untimed) | commands | commands/s | client CPU ms/command | simulator CPU ms/command | ours is x faster |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) {
  const ratio = r === ours ? '' : `${(ours.perSecond / r.perSecond).toFixed(1)}x`;
  console.log(`| ${r.client} | ${r.warmupCommands} | ${r.commands} | ${Math.round(r.perSecond)} | ${r.cpuMsPerCommand.toFixed(3)} | ${r.simCpuMsPerCommand.toFixed(3)} | ${ratio} |`);
}
if (served?.adbServerCpuMsPerCommand !== undefined) {
  console.log(`\nthrough the adb server: ${Math.round(served.perSecond)} commands/s vs ${Math.round(ours.perSecond)} direct (${(served.perSecond / ours.perSecond * 100).toFixed(1)}% of direct); the adb server used ${served.adbServerCpuMsPerCommand.toFixed(3)} ms CPU per command`);
}
if (memory !== null) {
  console.log(`\nmemory: ${memory.connections} open connections hold ${(memory.bytesPerConnection / 1024).toFixed(1)} KiB each (heap + buffers, target < 64 KiB)`);
}
const result = {
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '', loadavg: loadavg(), node: process.version, date: new Date().toISOString() },
  params: {
    instances: INSTANCES,
    commands: COMMANDS,
    baselineCommands: BASELINE_COMMANDS,
    serverCommands: SERVER_COMMANDS,
    inflightPerInstance: INFLIGHT,
    cliParallel: CLI_PARALLEL,
    warmupPerInstance: WARMUP,
    baselineWarmupPerInstance: BASELINE_WARMUP,
  },
  rows,
  memory,
  ratios: Object.fromEntries(rows.slice(1).map((r) => [r.client, ours.perSecond / r.perSecond])),
  /** commands/s through the adb server over commands/s direct, same command and concurrency */
  adbServerVsDirect: served === null ? null : served.perSecond / ours.perSecond,
  targets: { commandsPerSecond: 10_000, vsTango: 15, vsCli: 30 },
};
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/adb.json', `${JSON.stringify(result, null, 2)}\n`);
