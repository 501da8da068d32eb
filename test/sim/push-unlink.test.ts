// A push to a path that holds a regular file unlinks that file before it receives anything, as
// adbd's send_impl does: the old bytes are gone (and their storage returned) the moment SEND
// starts, whether the push then succeeds or not, and a failed or cut push leaves no file. The
// answers that refuse a push (EACCES, EISDIR, ENOTDIR) are what they were.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdbPool, isAdbError, isTransferError } from '../../src/adb/index.js';
import { DeviceState } from '../../src/sim/device-state.js';
import { startFleet, type Fleet, type SimInstance } from '../../src/sim/index.js';
import { SimInstanceImpl } from '../../src/sim/instance.js';
import { ADB_TIMEOUTS, debianAdbSkip, startAdbServer, testKey, until } from '../support/index.js';

const MiB = 1024 * 1024;
let fleet: Fleet;
let pool: AdbPool;
let dir: string;

before(async () => {
  // 5 MiB each: a 3 MiB file replaced by another 3 MiB fits only if the old one is gone first.
  fleet = await startFleet({ count: 3, storageBytes: 5 * MiB });
  pool = new AdbPool({ ...ADB_TIMEOUTS, key: testKey() });
  dir = await mkdtemp(join(tmpdir(), 'adbfleet-unlink-'));
});

after(async () => {
  await pool?.close();
  await fleet?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

function device(inst: SimInstance): DeviceState {
  if (!(inst instanceof SimInstanceImpl)) throw new Error('not a simulated instance of this process');
  return inst.device;
}

async function source(name: string, size: number): Promise<{ path: string; bytes: Buffer }> {
  const bytes = randomBytes(size);
  const path = join(dir, name);
  await writeFile(path, bytes);
  return { path, bytes };
}

async function pulled(addr: string, remote: string): Promise<Buffer> {
  const local = join(dir, `pulled-${Math.random().toString(36).slice(2)}`);
  await pool.pull(addr, remote, local, {});
  return readFile(local);
}

test('the old file leaves the tree when SEND starts: a replacement as big as it fits a limit that cannot hold both', async () => {
  const inst = fleet.instances[0]!;
  const old = await source('old', 3 * MiB);
  const next = await source('next', 3 * MiB);
  await pool.push(inst.address, old.path, '/data/local/tmp/f', {});
  await pool.push(inst.address, next.path, '/data/local/tmp/f', {});
  assert.ok((await pulled(inst.address, '/data/local/tmp/f')).equals(next.bytes));
  assert.equal(device(inst).files.used, 3 * MiB);

  // Between SEND and DONE (the device's side of one push): no file at the path, nothing counted.
  const files = device(inst).files;
  const w = files.create('/data/local/tmp/f', 0o644);
  assert.ok(typeof w !== 'string');
  assert.equal(files.stat('/data/local/tmp/f'), null);
  assert.equal(files.used, 0);
  assert.equal(w.write(Buffer.from('new')), null);
  w.commit(Date.now());
  assert.equal(files.stat('/data/local/tmp/f')?.size, 3);
  assert.equal(files.used, 3);
});

test('a push that fails over a file (transfer-fail, disk full) or is cut (transfer-drop) leaves no file and returns the storage', async () => {
  const inst = fleet.instances[1]!;
  const files = device(inst).files;
  const old = await source('kept', 2 * MiB);
  const next = await source('next2', 3 * MiB);
  const put = (): Promise<unknown> => pool.push(inst.address, old.path, '/data/local/tmp/g', {});

  await put();
  inst.setFault({ kind: 'transfer-fail', afterBytes: MiB });
  try {
    await assert.rejects(pool.push(inst.address, next.path, '/data/local/tmp/g', {}), (e) => isTransferError(e) && /write failed: I\/O error/.test(e.detail));
  } finally {
    inst.setFault(null);
  }
  assert.equal(await pool.stat(inst.address, '/data/local/tmp/g', {}), null, 'transfer-fail: no file');
  assert.equal(files.used, 0);

  await put();
  const big = await source('big', 6 * MiB);
  await assert.rejects(pool.push(inst.address, big.path, '/data/local/tmp/g', {}), (e) => isTransferError(e) && /No space left on device/.test(e.detail));
  assert.equal(await pool.stat(inst.address, '/data/local/tmp/g', {}), null, 'disk full: no file');
  assert.equal(files.used, 0);

  await put();
  // A pool that redials at once: the shared one would back off a connection lost this young.
  const redial = new AdbPool({ ...ADB_TIMEOUTS, key: testKey(), stableAfterMs: 0 });
  try {
    inst.setFault({ kind: 'transfer-drop', afterBytes: MiB });
    await assert.rejects(redial.push(inst.address, next.path, '/data/local/tmp/g', {}), (e) => isAdbError(e) && e.code === 'CONNECTION_LOST');
  } finally {
    inst.setFault(null);
    await redial.close();
  }
  await until('the cut push to be dropped', () => files.used === 0);
  assert.equal(await pool.stat(inst.address, '/data/local/tmp/g', {}), null, 'transfer-drop: no file');

  // The storage came back: the full limit takes a file again.
  const fits = await source('fits', 5 * MiB);
  await pool.push(inst.address, fits.path, '/data/local/tmp/g', {});
  assert.ok((await pulled(inst.address, '/data/local/tmp/g')).equals(fits.bytes));
});

test("Debian's adb: a push that fails over a file leaves no file", { skip: debianAdbSkip }, async () => {
  const inst = fleet.instances[2]!;
  const old = await source('adb-old', MiB);
  const next = await source('adb-next', 3 * MiB);
  const server = await startAdbServer();
  try {
    await server.connect(inst.address);
    const first = await server.run(['-s', inst.address, 'push', old.path, '/data/local/tmp/h']);
    assert.equal(first.code, 0, first.stdout + first.stderr);
    inst.setFault({ kind: 'transfer-fail', afterBytes: MiB });
    const failed = await server.run(['-s', inst.address, 'push', next.path, '/data/local/tmp/h']);
    inst.setFault(null);
    assert.notEqual(failed.code, 0);
    assert.match(failed.stdout + failed.stderr, /I\/O error/);
    assert.equal(await pool.stat(inst.address, '/data/local/tmp/h', {}), null);
    assert.equal(device(inst).files.used, 0);
  } finally {
    inst.setFault(null);
    await server.close();
  }
});

test('refusals are what they were: nothing is unlinked by a push that may not write', () => {
  const dev = new DeviceState('sim-0001', 0, MiB);
  const files = dev.files;
  const w = files.create('/data/local/tmp/ro', 0o444);
  assert.ok(typeof w !== 'string');
  assert.equal(w.write(Buffer.from('read-only')), null);
  w.commit(Date.now());

  assert.equal(files.create('/data/local/tmp/ro', 0o644), 'EACCES', 'a file the shell user may not write');
  assert.equal(files.stat('/data/local/tmp/ro')?.size, 9, 'still there');
  assert.equal(files.used, 9);
  assert.equal(files.create('/system/build.prop', 0o644), 'EACCES', 'a directory the shell user may not write');
  assert.notEqual(files.stat('/system/build.prop'), null);
  assert.equal(files.create('/data/local/tmp', 0o644), 'EISDIR');
  assert.equal(files.create('/data/local/tmp/ro/x', 0o644), 'ENOTDIR');
  assert.equal(files.stat('/data/local/tmp/ro')?.size, 9);
});
