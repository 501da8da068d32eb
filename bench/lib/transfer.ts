// File transfer throughput for bench/adb.ts: the same file pushed to and pulled from the same
// simulated instances by our AdbPool (direct) and by Debian's `adb push` / `adb pull` (through
// its server, a process per transfer, as people run it), one transfer at a time, in one run.
// MiB/s = file bytes moved / wall time; each side verifies what it pulled against the source.
// CPU per MiB shows where the time goes: the client's (ours: this process; Debian's: its adb
// server and the adb processes) and the simulator's.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdbPool } from '../../src/adb/index.js';
import { cpuMs } from './measure.js';
import { ADB_TIMEOUTS, debianAdbSkip, startAdbServer, testKey } from '../../test/support/index.js';

export interface TransferRow {
  client: string;
  op: 'push' | 'pull';
  transfers: number;
  mib: number;
  seconds: number;
  mibPerSecond: number;
  /** the client's CPU per MiB moved, ms */
  clientCpuMsPerMiB: number;
  /** the simulator's CPU per MiB moved, ms */
  simCpuMsPerMiB: number;
}

export interface TransferOptions {
  addresses: string[];
  fileMiB: number;
  rounds: number;
  /** the simulator's process, for its CPU */
  simPid: number;
}

const MiB = 1024 * 1024;

async function sha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const piece of createReadStream(path)) h.update(piece as Buffer);
  return h.digest('hex');
}

const selfCpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function timed(
  client: string,
  op: 'push' | 'pull',
  o: TransferOptions,
  cpu: () => number,
  one: (address: string, round: number) => Promise<void>,
): Promise<TransferRow> {
  // One untimed transfer first: connections, the adb server's transport, page cache.
  await one(o.addresses[0]!, -1);
  const cpu0 = cpu();
  const sim0 = cpuMs(o.simPid);
  const t0 = performance.now();
  for (let round = 0; round < o.rounds; round++) for (const a of o.addresses) await one(a, round);
  const seconds = (performance.now() - t0) / 1000;
  const transfers = o.rounds * o.addresses.length;
  const mib = transfers * o.fileMiB;
  return {
    client,
    op,
    transfers,
    mib,
    seconds,
    mibPerSecond: mib / seconds,
    clientCpuMsPerMiB: (cpu() - cpu0) / mib,
    simCpuMsPerMiB: (cpuMs(o.simPid) - sim0) / mib,
  };
}

export async function benchTransfers(o: TransferOptions): Promise<TransferRow[]> {
  const dir = await mkdtemp(join(tmpdir(), 'adbfleet-bench-sync-'));
  const rows: TransferRow[] = [];
  try {
    const src = join(dir, 'src.bin');
    const fh = await open(src, 'w');
    for (let i = 0; i < o.fileMiB; i++) await fh.write(randomBytes(MiB));
    await fh.close();
    const want = await sha256(src);
    const check = async (path: string, who: string): Promise<void> => {
      if ((await sha256(path)) !== want) throw new Error(`${who}: the pulled file differs from the source`);
    };

    const pool = new AdbPool({ ...ADB_TIMEOUTS, key: testKey() });
    try {
      const opts = { timeoutMs: 600_000 };
      rows.push(await timed('adbfleet AdbPool', 'push', o, selfCpuMs, (a) => pool.push(a, src, '/data/local/tmp/bench-ours.bin', opts).then(() => {})));
      rows.push(await timed('adbfleet AdbPool', 'pull', o, selfCpuMs, (a) => pool.pull(a, '/data/local/tmp/bench-ours.bin', join(dir, 'ours.bin'), opts).then(() => {})));
      await check(join(dir, 'ours.bin'), 'our pull');
    } finally {
      await pool.close();
    }

    if (debianAdbSkip !== false) {
      console.log(`adb push/pull rows skipped: ${debianAdbSkip}`);
      return rows;
    }
    const server = await startAdbServer();
    try {
      for (const a of o.addresses) await server.connect(a);
      const adb = async (args: string[]): Promise<void> => {
        const r = await server.run(args, 600_000);
        if (r.code !== 0) throw new Error(`adb ${args.join(' ')}: ${r.stdout}${r.stderr}`);
      };
      // The adb server and the adb processes it served (reaped children of this one).
      const adbCpuMs = (): number => cpuMs(server.pid) + cpuMs('self', true);
      rows.push(await timed('Debian adb push/pull', 'push', o, adbCpuMs, (a) => adb(['-s', a, 'push', src, '/data/local/tmp/bench-adb.bin'])));
      rows.push(await timed('Debian adb push/pull', 'pull', o, adbCpuMs, (a) => adb(['-s', a, 'pull', '/data/local/tmp/bench-adb.bin', join(dir, 'adb.bin')])));
      await check(join(dir, 'adb.bin'), 'adb pull');
    } finally {
      await server.close();
    }
    return rows;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
