// Identical bytes are stored once in the simulator (src/sim/chunks.ts): a push compares what it
// receives with the chunk last completed at the same offset and shares it while they are equal.
// Real pushes and pulls over sockets check that what each instance reads back is exactly what was
// pushed to it, whatever part of it was shared: one file to several instances (one after another
// and side by side), a file that matches for a while then differs, files freed or replaced while
// others share their chunks; that faults and the storage limit act as before; and, through the
// simulator's count of chunk memory held, that N copies of one file hold about one.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdbPool, isAdbError, isTransferError } from '../../src/adb/index.js';
import { CHUNK, heldBytes } from '../../src/sim/chunks.js';
import { startFleet, type Fleet, type SimInstance } from '../../src/sim/index.js';
import { SimInstanceImpl } from '../../src/sim/instance.js';
import { ADB_TIMEOUTS, debianAdbSkip, startAdbServer, testKey, until } from '../support/index.js';

const MiB = 1024 * 1024;
let fleet: Fleet;
let pool: AdbPool;
let dir: string;
let serial = 0;

before(async () => {
  fleet = await startFleet({ count: 4, storageBytes: 32 * MiB });
  pool = new AdbPool({ ...ADB_TIMEOUTS, key: testKey() });
  dir = await mkdtemp(join(tmpdir(), 'adbfleet-shared-'));
});

after(async () => {
  await pool?.close();
  await fleet?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

function used(inst: SimInstance): number {
  if (!(inst instanceof SimInstanceImpl)) throw new Error('not a simulated instance of this process');
  return inst.device.files.used;
}

async function push(inst: SimInstance, bytes: Buffer, remote: string): Promise<void> {
  const local = join(dir, `src-${serial++}`);
  await writeFile(local, bytes);
  await pool.push(inst.address, local, remote, {});
}

async function pulled(inst: SimInstance, remote: string): Promise<Buffer> {
  const local = join(dir, `back-${serial++}`);
  await pool.pull(inst.address, remote, local, {});
  return readFile(local);
}

async function readsBack(inst: SimInstance, remote: string, want: Buffer, what: string): Promise<void> {
  const got = await pulled(inst, remote);
  assert.equal(got.length, want.length, `${what}: size`);
  assert.ok(got.equals(want), `${what}: bytes`);
}

test('one file pushed to several instances, one after another: each reads it back, the simulator holds one copy', async () => {
  const bytes = randomBytes(6 * MiB + 123);
  const h0 = heldBytes();
  await push(fleet.instances[0]!, bytes, '/data/local/tmp/one');
  const h1 = heldBytes();
  for (const inst of fleet.instances.slice(1)) await push(inst, bytes, '/data/local/tmp/one');
  const h4 = heldBytes();
  assert.ok(h4 - h1 < CHUNK, `the 3 more copies hold ${h4 - h1} bytes more`);
  assert.ok(h4 - h0 < bytes.length + CHUNK, `4 copies of ${bytes.length} bytes hold ${h4 - h0} bytes more`);
  for (const [i, inst] of fleet.instances.entries()) {
    await readsBack(inst, '/data/local/tmp/one', bytes, `instance ${i}`);
    assert.equal(used(inst), bytes.length, `instance ${i} counts the whole file`);
  }
  // Pushed again over itself: the copy being replaced is unlinked first, and still nothing new is held.
  await push(fleet.instances[0]!, bytes, '/data/local/tmp/one');
  assert.ok(heldBytes() - h4 < CHUNK);
  await readsBack(fleet.instances[0]!, '/data/local/tmp/one', bytes, 'pushed again');
});

test('one file pushed to several instances side by side: each reads it back, the simulator holds about one copy', async () => {
  const bytes = randomBytes(8 * MiB + 4321);
  const h0 = heldBytes();
  await Promise.all(fleet.instances.map((inst) => push(inst, bytes, '/data/local/tmp/side')));
  const grew = heldBytes() - h0;
  assert.ok(grew < bytes.length + CHUNK, `4 copies of ${bytes.length} bytes hold ${grew} bytes more`);
  for (const [i, inst] of fleet.instances.entries()) await readsBack(inst, '/data/local/tmp/side', bytes, `instance ${i}`);
});

test("Debian's adb pushes and pulls shared files byte for byte", { skip: debianAdbSkip }, async () => {
  const bytes = randomBytes(3 * MiB + 999);
  const [a, b] = fleet.instances as [SimInstance, SimInstance];
  await push(a, bytes, '/data/local/tmp/adb');
  const local = join(dir, 'adb-src');
  await writeFile(local, bytes);
  const h = heldBytes();
  const server = await startAdbServer();
  try {
    await server.connect(b.address);
    const r = await server.run(['-s', b.address, 'push', local, '/data/local/tmp/adb']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.ok(heldBytes() - h < CHUNK, 'adb pushed bytes the simulator had: shared');
    const back = join(dir, 'adb-back');
    const p = await server.run(['-s', b.address, 'pull', '/data/local/tmp/adb', back]);
    assert.equal(p.code, 0, p.stdout + p.stderr);
    assert.ok((await readFile(back)).equals(bytes));
  } finally {
    await server.close();
  }
  await readsBack(b, '/data/local/tmp/adb', bytes, 'our pull');
});

test('a push that matches the last file for a while, then differs, reads back exactly (and the last file too)', async () => {
  const [a, b] = fleet.instances as [SimInstance, SimInstance];
  // Its last chunk (index 6, from 5 MiB) holds 1000 bytes of a MiB.
  const base = randomBytes(5 * MiB + 1000);
  const flipped = (at: number): Buffer => {
    const v = Buffer.from(base);
    v[at] = v[at]! ^ 0xff;
    return v;
  };
  const variants: [string, Buffer][] = [
    ['differs at the first byte', flipped(0)],
    ['differs in the middle of a chunk (and of a piece)', flipped(2.5 * MiB + 17)],
    ['differs at a chunk boundary (3 MiB)', flipped(3 * MiB)],
    ['differs at the first small chunk boundary (64 KiB)', flipped(64 * 1024)],
    ['differs at its last byte', flipped(base.length - 1)],
    ['shorter, ending at a chunk boundary', base.subarray(0, 4 * MiB)],
    ['shorter, ending early in a chunk', base.subarray(0, 3 * MiB + 77)],
    ['shorter, ending late in a chunk', base.subarray(0, 4 * MiB - 5)],
    ['shorter, ending inside the last chunk', base.subarray(0, 5 * MiB + 10)],
    ['longer by a few bytes', Buffer.concat([base, randomBytes(10)])],
    ['longer by MiBs', Buffer.concat([base, randomBytes(2 * MiB + 3)])],
    ['identical', Buffer.from(base)],
  ];
  for (const [what, bytes] of variants) {
    // The base pushed last: its chunks are what the variant is compared with.
    await push(a, base, '/data/local/tmp/base');
    await push(b, bytes, '/data/local/tmp/variant');
    await readsBack(b, '/data/local/tmp/variant', bytes, what);
    await readsBack(a, '/data/local/tmp/base', base, `the base, after a variant that ${what}`);
  }
});

test('freeing or replacing files whose chunks others share leaves the others intact, even after later pushes reuse freed chunks', async () => {
  const [a, b, c, d] = fleet.instances as [SimInstance, SimInstance, SimInstance, SimInstance];
  const f = randomBytes(5 * MiB + 5);
  for (const inst of [a, b, c]) await push(inst, f, '/data/local/tmp/f');
  const rmed = await pool.exec(a.address, 'rm /data/local/tmp/f', { timeoutMs: 10_000, maxOutputBytes: 1024 });
  assert.equal(rmed.exitCode, 0);
  const g = randomBytes(5 * MiB + 5);
  await push(b, g, '/data/local/tmp/f');
  // Other files come and go: their pushes take the chunks freed on the way.
  for (let i = 0; i < 6; i++) await push(d, randomBytes(6 * MiB), '/data/local/tmp/churn');
  await readsBack(c, '/data/local/tmp/f', f, 'the copy nothing replaced');
  await readsBack(b, '/data/local/tmp/f', g, 'the replacement');
  assert.equal(await pool.stat(a.address, '/data/local/tmp/f', {}), null);
});

test('faults mid-transfer while sharing: the push fails as before, leaves no file, and the shared file is intact', async () => {
  const [a, b] = fleet.instances as [SimInstance, SimInstance];
  const bytes = randomBytes(4 * MiB);
  await push(a, bytes, '/data/local/tmp/faulted');
  const local = join(dir, 'faulted');
  await writeFile(local, bytes);

  b.setFault({ kind: 'transfer-fail', afterBytes: 2 * MiB });
  try {
    await assert.rejects(pool.push(b.address, local, '/data/local/tmp/faulted', {}), (e) => isTransferError(e) && /write failed: I\/O error/.test(e.detail));
  } finally {
    b.setFault(null);
  }
  assert.equal(await pool.stat(b.address, '/data/local/tmp/faulted', {}), null);
  const redial = new AdbPool({ ...ADB_TIMEOUTS, key: testKey(), stableAfterMs: 0 });
  try {
    b.setFault({ kind: 'transfer-drop', afterBytes: 2 * MiB });
    await assert.rejects(redial.push(b.address, local, '/data/local/tmp/faulted', {}), (e) => isAdbError(e) && e.code === 'CONNECTION_LOST');
  } finally {
    b.setFault(null);
    await redial.close();
  }
  await until('the cut push to be dropped', async () => (await pool.stat(b.address, '/data/local/tmp/faulted', {})) === null);
  await readsBack(a, '/data/local/tmp/faulted', bytes, 'the file the failed pushes shared');
  await push(b, bytes, '/data/local/tmp/faulted');
  await readsBack(b, '/data/local/tmp/faulted', bytes, 'pushed again after the faults');
});

test("each instance counts a shared file's full size against its own limit", async () => {
  const small = await startFleet({ count: 2, storageBytes: 8 * MiB });
  try {
    const [a, b] = small.instances as [SimInstance, SimInstance];
    const bytes = randomBytes(6 * MiB);
    await push(a, bytes, '/data/local/tmp/six');
    await push(b, bytes, '/data/local/tmp/six');
    assert.equal(used(b), 6 * MiB);
    // Shared end to end, so no new memory: the device's disk is full all the same.
    const local = join(dir, 'three');
    await writeFile(local, bytes.subarray(0, 3 * MiB));
    await assert.rejects(pool.push(b.address, local, '/data/local/tmp/three', {}), (e) => isTransferError(e) && /No space left on device/.test(e.detail));
    assert.equal(used(b), 6 * MiB);
    await readsBack(b, '/data/local/tmp/six', bytes, 'the file that fit');
  } finally {
    await small.close();
  }
});
