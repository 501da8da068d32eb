// A file much bigger than any buffer goes both ways without sitting whole in our memory: the
// simulator runs in its own process (its copy of the file is not ours), and this process's
// off-heap memory (Buffers) is sampled through a 64 MiB push and pull. Push holds at most five 1 MiB
// payload buffers (one of its own, four shared by every push); pull at most its 8 MiB disk queue
// (1 MiB while the process's pulls queue 16 MiB together) plus what the device may send past it
// (our delayed_ack grant) and the pieces not yet written. Samples are taken
// after a full GC: what a transfer has let go of (64 MiB of socket chunks pass through a pull) is
// not held, and counting it made the test fail whenever the GC happened to run late.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { AdbPool } from '../../src/adb/index.js';
import { offloadFor } from '../../src/adb/local-io.js';
import { ADB_TIMEOUTS, startSimProcess, testKey, type Child } from '../support/index.js';

const MiB = 1024 * 1024;
const SIZE = 64 * MiB;
let sim: { child: Child; addresses: string[] } | null = null;
let pool: AdbPool | null = null;
let dir = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'adbfleet-sync-mem-'));
  sim = await startSimProcess(1);
  pool = new AdbPool({ ...ADB_TIMEOUTS, key: testKey() });
});

after(async () => {
  await pool?.close();
  await sim?.child.kill('SIGTERM');
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const piece of createReadStream(path)) hash.update(piece as Buffer);
  return hash.digest('hex');
}

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Off-heap memory (Buffers) still reachable: collected first. */
function liveBuffers(): number {
  gc();
  return process.memoryUsage().arrayBuffers;
}

/** The most this process's live Buffers grew above where they were at the start, while `run` ran. */
async function peakGrowth(run: () => Promise<unknown>): Promise<number> {
  const base = liveBuffers();
  let peak = base;
  const sampler = setInterval(() => (peak = Math.max(peak, liveBuffers())), 5);
  try {
    await run();
  } finally {
    clearInterval(sampler);
  }
  return Math.max(peak, liveBuffers()) - base;
}

test('a 64 MiB push and pull keep well under half the file in memory, and the bytes match', async () => {
  const src = join(dir, 'src');
  const hash = createHash('sha256');
  const fh = await open(src, 'w');
  for (let i = 0; i < SIZE / MiB; i++) {
    const piece = randomBytes(MiB);
    hash.update(piece);
    await fh.write(piece);
  }
  await fh.close();
  const addr = sim!.addresses[0]!;
  await pool!.connect(addr);
  const pushed = await peakGrowth(() => pool!.push(addr, src, '/data/local/tmp/big', { timeoutMs: 120_000 }));
  const sum = hash.digest('hex');
  assert.ok(pushed < SIZE / 2, `push grew Buffers by ${(pushed / MiB).toFixed(1)} MiB`);
  // Written in place (each piece from the read buffer), then through the thread pool (queued).
  for (const offload of [0, 600_000]) {
    offloadFor(offload);
    const back = join(dir, `back-${offload}`);
    const pulled = await peakGrowth(() => pool!.pull(addr, '/data/local/tmp/big', back, { timeoutMs: 120_000 }));
    offloadFor(0);
    assert.equal(await sha256Of(back), sum);
    assert.ok(pulled < SIZE / 2, `pull (offloaded ${offload} ms) grew Buffers by ${(pulled / MiB).toFixed(1)} MiB`);
  }
});

test('ten pushes at once hold one payload buffer each and share four more: memory stays bounded by that, not by the number of pushes', async () => {
  const src = join(dir, 'src16');
  const fh = await open(src, 'w');
  for (let i = 0; i < 16; i++) await fh.write(randomBytes(MiB));
  await fh.close();
  const addr = sim!.addresses[0]!;
  await pool!.connect(addr);
  const grown = await peakGrowth(() =>
    Promise.all(Array.from({ length: 10 }, (_, i) => pool!.push(addr, src, `/data/local/tmp/many-${i}`, { timeoutMs: 120_000 }))),
  );
  // 10 + 4 payload buffers of 1 MiB, and a few MiB of socket chunks and sync frames besides.
  assert.ok(grown < 24 * MiB, `ten pushes grew Buffers by ${(grown / MiB).toFixed(1)} MiB`);
  const listing = await pool!.exec(addr, 'ls -l /data/local/tmp', { timeoutMs: 10_000, maxOutputBytes: 65536 });
  assert.equal(listing.stdout.toString().split('\n').filter((l) => / 16777216 .* many-\d$/.test(l)).length, 10, listing.stdout.toString());
});

test('ten pulls at once into slow readers hold a little each and share the rest: memory stays bounded by that, not by the number of pulls', async (t) => {
  const N = 10;
  const src = join(dir, 'pull-src16');
  const fh = await open(src, 'w');
  for (let i = 0; i < 16; i++) await fh.write(randomBytes(MiB));
  await fh.close();
  const addr = sim!.addresses[0]!;
  await pool!.push(addr, src, '/data/local/tmp/pull16', { timeoutMs: 120_000 });
  const sum = await sha256Of(src);
  // Each pull writes into a FIFO that a reader drains at ~16 MiB/s, a disk slower than the device:
  // without a shared budget every pull queues its own 8 MiB mark, plus its window.
  const fifos = Array.from({ length: N }, (_, i) => join(dir, `slow-${i}`));
  try {
    for (const f of fifos) execFileSync('mkfifo', [f]);
  } catch {
    t.skip('mkfifo is not available');
    return;
  }
  // The reader opens each FIFO without blocking (the pulls' opens then do not wait for it), and
  // reads 64 KiB from each every 4 ms; a FIFO read as empty before its writer came is not its end.
  const script = `const fs = require('node:fs'); const { createHash } = require('node:crypto');
    const buf = Buffer.alloc(65536);
    for (const path of process.argv.slice(1)) {
      const fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
      const hash = createHash('sha256'); let taken = 0;
      const pump = () => {
        let n;
        try { n = fs.readSync(fd, buf); } catch (e) { if (e.code === 'EAGAIN') return setTimeout(pump, 4); throw e; }
        if (n === 0 && taken > 0) { process.stdout.write(path + ' ' + hash.digest('hex') + '\\n'); return fs.closeSync(fd); }
        hash.update(buf.subarray(0, n)); taken += n; setTimeout(pump, 4);
      };
      pump();
    }`;
  const reader = spawn(process.execPath, ['-e', script, ...fifos], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  reader.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => reader.on('exit', resolve));
  offloadFor(600_000);
  let grown: number;
  try {
    grown = await peakGrowth(() => Promise.all(fifos.map((f) => pool!.pull(addr, '/data/local/tmp/pull16', f, { timeoutMs: 120_000 }))));
  } finally {
    offloadFor(0);
  }
  assert.equal(await exited, 0);
  const sums = out.trim().split('\n').map((l) => l.split(' ')[1]);
  assert.deepEqual(sums, fifos.map(() => sum));
  // The shared 16 MiB, and per pull its own 1 MiB, the 4 MiB its device may send past a pause (the
  // delayed_ack window) and the buffer being filled; a few MiB besides. Each pull's own 8 MiB mark
  // and buffers, as before the shared budget: 106-130 MiB measured.
  t.diagnostic(`ten pulls into slow readers grew Buffers by ${(grown / MiB).toFixed(1)} MiB`);
  assert.ok(grown < 84 * MiB, `ten pulls into slow readers grew Buffers by ${(grown / MiB).toFixed(1)} MiB`);
});
