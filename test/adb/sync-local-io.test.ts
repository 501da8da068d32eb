// The two ways a push reads and a pull writes its local file (src/adb/local-io.ts): in place on
// the event loop, and through the thread pool once a call was slow. Each must move the bytes
// exactly and fail the same way on a full local disk; a slow call (a pull into a FIFO whose reader
// waits) must send the process's file I/O to the thread pool, and the pull still completes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFleet, type Fleet } from '../../src/sim/index.js';
import { AdbPool, isTransferError } from '../../src/adb/index.js';
import { inPlace, inPlaceCalls, offloadFor } from '../../src/adb/local-io.js';
import { ADB_TIMEOUTS, smallDisk, testKey } from '../support/index.js';

const MiB = 1024 * 1024;
let fleet: Fleet;
let pool: AdbPool;
let dir: string;
let address: string;

before(async () => {
  fleet = await startFleet({ count: 1 });
  pool = new AdbPool({ ...ADB_TIMEOUTS, key: testKey() });
  dir = await mkdtemp(join(tmpdir(), 'adbfleet-local-io-'));
  address = fleet.instances[0]!.address;
});

after(async () => {
  offloadFor(0);
  await pool?.close();
  await fleet?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

const MODES = [
  { name: 'in place', set: () => offloadFor(0) },
  { name: 'through the thread pool', set: () => offloadFor(600_000) },
] as const;

for (const mode of MODES) {
  test(`${mode.name}: a 9 MiB file (odd size) pushed and pulled back is byte-identical, twice over the same local file, hashed as it comes when asked`, async () => {
    mode.set();
    const bytes = randomBytes(9 * MiB + 777);
    const src = join(dir, `src-${mode.name}`);
    await writeFile(src, bytes);
    const before = inPlaceCalls();
    assert.equal((await pool.push(address, src, '/data/local/tmp/io.bin', { timeoutMs: 60_000 })).bytes, bytes.length);
    const back = join(dir, `back-${mode.name}`);
    for (let i = 0; i < 2; i++) {
      // Hashed as it comes the second time: the hash is of the bytes in file order.
      const r = await pool.pull(address, '/data/local/tmp/io.bin', back, { timeoutMs: 60_000, sha256: i === 1 });
      assert.equal(r.bytes, bytes.length);
      assert.equal(sha256(await readFile(back)), sha256(bytes));
      assert.equal(r.sha256, i === 1 ? sha256(bytes) : undefined);
    }
    // In place, a call slower than SLOW_CALL_MS (a loaded machine) sends the rest to the thread
    // pool, so the test knows only that the transfer began in place; through the pool, none is.
    if (mode.name === 'in place') assert.ok(inPlaceCalls() > before, 'file calls ran in place');
    else assert.equal(inPlaceCalls(), before, 'no file call ran in place');
  });

  test(`${mode.name}: a pull onto a full local disk is LOCAL_IO ENOSPC and leaves no partial file`, async (t) => {
    mode.set();
    const disk = await smallDisk(t);
    if (disk === null) return;
    try {
      const src = join(dir, `fill-${mode.name}`);
      await writeFile(src, randomBytes(6 * MiB));
      await pool.push(address, src, '/data/local/tmp/six.bin', { timeoutMs: 60_000 });
      // A 16 MiB disk with 12 MiB taken: 6 MiB does not fit.
      await writeFile(join(disk.dir, 'ballast'), Buffer.alloc(12 * MiB));
      const dest = join(disk.dir, 'six.back');
      await assert.rejects(pool.pull(address, '/data/local/tmp/six.bin', dest, { timeoutMs: 60_000 }), (e: unknown) => {
        assert.ok(isTransferError(e) && e.code === 'LOCAL_IO' && e.detail.includes('ENOSPC') && e.detail.includes('six.back'), String(e));
        return true;
      });
      assert.equal(existsSync(dest), false, 'the partial file is removed');
    } finally {
      await disk.close();
    }
  });
}

test('a pull that starts through the thread pool and goes on in place (the offload lapses mid-pull) writes every byte in order', async () => {
  const bytes = randomBytes(6 * MiB + 11);
  const src = join(dir, 'lapse-src');
  await writeFile(src, bytes);
  await pool.push(address, src, '/data/local/tmp/lapse.bin', { timeoutMs: 60_000 });
  const instance = fleet.instances[0]!;
  // The device's replies come slowly, so the pull is still under way when the offload lapses.
  instance.setFault({ kind: 'latency', ms: 20 });
  try {
    offloadFor(600_000);
    const back = join(dir, 'lapse.back');
    const lapse = setTimeout(() => offloadFor(0), 60);
    const r = await pool.pull(address, '/data/local/tmp/lapse.bin', back, { timeoutMs: 60_000, sha256: true });
    clearTimeout(lapse);
    assert.equal(r.bytes, bytes.length);
    assert.equal(sha256(await readFile(back)), sha256(bytes));
    assert.equal(r.sha256, sha256(bytes), 'hashed in file order across both ways of writing');
  } finally {
    instance.setFault(null);
    offloadFor(0);
  }
});

test('a write that blocks (a FIFO whose reader pauses) sends file I/O to the thread pool; the pull completes, bytes exact', async (t) => {
  offloadFor(0);
  const fifo = join(dir, 'fifo');
  try {
    execFileSync('mkfifo', [fifo]);
  } catch {
    t.skip('mkfifo is not available');
    return;
  }
  const bytes = randomBytes(4 * MiB + 3);
  const src = join(dir, 'fifo-src');
  await writeFile(src, bytes);
  await pool.push(address, src, '/data/local/tmp/fifo.bin', { timeoutMs: 60_000 });
  // The reader (its own process: a blocked write blocks this one's event loop) takes 256 KiB at
  // once, pauses, then reads the rest. The device's replies are delayed so that the file is open
  // before the first piece: the pieces are written in place until the pipe is full.
  const out = join(dir, 'fifo-out');
  const script = `const fs = require('node:fs');
    const fd = fs.openSync(process.argv[1], 'r'); const out = fs.openSync(process.argv[2], 'w');
    const buf = Buffer.alloc(65536); let taken = 0, n;
    const pump = () => { while ((n = fs.readSync(fd, buf)) > 0) { fs.writeSync(out, buf, 0, n); taken += n; if (taken >= 262144 && !pump.paused) { pump.paused = true; return setTimeout(pump, 300); } } };
    pump();`;
  const reader = spawn(process.execPath, ['-e', script, fifo, out], { stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => reader.on('exit', resolve));
  const instance = fleet.instances[0]!;
  instance.setFault({ kind: 'latency', ms: 50 });
  offloadFor(0);
  try {
    const r = await pool.pull(address, '/data/local/tmp/fifo.bin', fifo, { timeoutMs: 60_000 });
    assert.equal(r.bytes, bytes.length);
  } finally {
    instance.setFault(null);
  }
  assert.equal(await exited, 0);
  assert.equal(sha256(await readFile(out)), sha256(bytes));
  assert.equal(inPlace(), false, 'the blocked write offloaded file I/O');
  offloadFor(0);
});
