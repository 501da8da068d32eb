// File sync (push, pull, stat, list) and the raw exec: service, our client against the simulator
// over real sockets: bytes identical both ways for a file far bigger than any buffer, the device's
// FAILs as typed errors with its message, local files' errors, faults mid-transfer, and
// `screencap -p` arriving byte for byte as a PNG.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { link, lstat, mkdtemp, open, readFile, rm, stat as fsStat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { startFleet, type Fleet } from '../../src/sim/index.js';
import { AdbPool, isAdbError, isTransferError } from '../../src/adb/index.js';
import { ADB_TIMEOUTS, MAX_OUTPUT_BYTES, testKey } from '../support/index.js';

const MiB = 1024 * 1024;
let fleet: Fleet;
let pool: AdbPool;
let dir: string;
let a: string;
let b: string;

before(async () => {
  fleet = await startFleet({ count: 3 });
  pool = new AdbPool({ ...ADB_TIMEOUTS, key: testKey() });
  dir = await mkdtemp(join(tmpdir(), 'adbfleet-sync-'));
  [a, b] = fleet.instances.map((i) => i.address) as [string, string];
});

after(async () => {
  await pool?.close();
  await fleet?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

/** Writes `size` random bytes to path a MiB at a time (never whole in memory); returns their sha256. */
async function randomFile(path: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  const fh = await open(path, 'w');
  try {
    for (let left = size; left > 0; ) {
      const piece = randomBytes(Math.min(MiB, left));
      hash.update(piece);
      await fh.write(piece);
      left -= piece.length;
    }
  } finally {
    await fh.close();
  }
  return hash.digest('hex');
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const piece of createReadStream(path)) hash.update(piece as Buffer);
  return hash.digest('hex');
}

function rejectsWith(p: Promise<unknown>, check: (e: unknown) => boolean, what: string): Promise<void> {
  return p.then(
    () => assert.fail(`${what}: resolved`),
    (e: unknown) => assert.ok(check(e), `${what}: ${String(e)}`),
  );
}

test('a 64 MiB file (odd size) pushed and pulled back is byte-identical, and stat and list see it', async () => {
  const src = join(dir, 'big.bin');
  const size = 64 * MiB + 12345;
  const sum = await randomFile(src, size);
  const pushed = await pool.push(a, src, '/data/local/tmp/big.bin', { timeoutMs: 120_000, mode: 0o600, mtime: 1_700_000_000 });
  assert.equal(pushed.bytes, size);
  const st = await pool.stat(a, '/data/local/tmp/big.bin', {});
  assert.deepEqual(st, { mode: 0o100600, size, mtime: 1_700_000_000 });
  const names = (await pool.list(a, '/data/local/tmp', {})).map((e) => e.name);
  assert.ok(names.includes('big.bin'), names.join(' '));
  const back = join(dir, 'big.back');
  const pulled = await pool.pull(a, '/data/local/tmp/big.bin', back, { timeoutMs: 120_000 });
  assert.equal(pulled.bytes, size);
  assert.equal((await fsStat(back)).size, size);
  assert.equal(await sha256Of(back), sum);
});

test('empty files, and a push to a missing directory (made as adbd makes it); another instance sees none of it', async () => {
  const empty = join(dir, 'empty');
  await writeFile(empty, '');
  await pool.push(a, empty, '/sdcard/Download/new/deeper/empty', {});
  assert.equal((await pool.stat(a, '/sdcard/Download/new/deeper/empty', {}))?.size, 0);
  assert.equal((await pool.pull(a, '/sdcard/Download/new/deeper/empty', join(dir, 'empty.back'), {})).bytes, 0);
  assert.equal((await readFile(join(dir, 'empty.back'))).length, 0);
  assert.equal(await pool.stat(b, '/sdcard/Download/new', {}), null);
  const r = await pool.exec(a, 'ls /sdcard/Download/new/deeper', { maxOutputBytes: MAX_OUTPUT_BYTES });
  assert.equal(r.stdout.toString(), 'empty\n');
});

test("the device's FAIL is a SYNC_FAILED TransferError with its message; the connection carries on", async () => {
  const src = join(dir, 'small');
  await writeFile(src, 'hello');
  await rejectsWith(pool.pull(a, '/data/local/tmp/none', join(dir, 'none'), {}), (e) => isTransferError(e) && e.code === 'SYNC_FAILED' && /open failed: No such file or directory/.test(e.detail), 'pull of a missing file');
  assert.equal(existsSync(join(dir, 'none')), false, 'no partial file is left');
  await rejectsWith(pool.push(a, src, '/system/small', {}), (e) => isTransferError(e) && e.code === 'SYNC_FAILED' && /couldn't create file: Permission denied/.test(e.detail) && e.detail.includes('/system/small'), 'push to a read-only directory');
  await rejectsWith(pool.push(a, src, '/data/local/tmp', {}), (e) => isTransferError(e) && /Is a directory/.test(e.detail), 'push onto a directory');
  assert.equal(await pool.stat(a, '/no/such/path', {}), null);
  const r = await pool.exec(a, 'echo still here', { maxOutputBytes: MAX_OUTPUT_BYTES });
  assert.equal(r.stdout.toString(), 'still here\n');
});

test('a local file that cannot be read or written is LOCAL_IO, naming it', async () => {
  await rejectsWith(pool.push(a, join(dir, 'absent'), '/data/local/tmp/x', {}), (e) => isTransferError(e) && e.code === 'LOCAL_IO' && e.detail.includes('absent') && e.detail.includes('ENOENT'), 'push of a missing local file');
  await rejectsWith(pool.push(a, dir, '/data/local/tmp/x', {}), (e) => isTransferError(e) && e.code === 'LOCAL_IO', 'push of a directory');
  await pool.push(a, join(dir, 'small'), '/data/local/tmp/small', {});
  await rejectsWith(pool.pull(a, '/data/local/tmp/small', join(dir, 'no-dir', 'x'), {}), (e) => isTransferError(e) && e.code === 'LOCAL_IO' && e.detail.includes('no-dir'), 'pull into a missing directory');
});

test('a pull past its maxBytes is OUTPUT_LIMIT as the bytes come (before the file ends), and leaves no file; at the limit it is pulled', async () => {
  const src = join(dir, 'limit-src');
  const size = 3 * MiB + 5;
  const sum = await randomFile(src, size);
  await pool.push(a, src, '/data/local/tmp/limit.bin', { timeoutMs: 60_000 });
  const dest = join(dir, 'limit.back');
  await rejectsWith(
    pool.pull(a, '/data/local/tmp/limit.bin', dest, { maxBytes: MiB }),
    (e) => isTransferError(e) && e.code === 'OUTPUT_LIMIT' && e.detail === `pull of /data/local/tmp/limit.bin: more than ${MiB} bytes`,
    'a pull over its limit',
  );
  assert.equal(existsSync(dest), false, 'the partial file is removed');
  assert.equal((await pool.pull(a, '/data/local/tmp/limit.bin', dest, { maxBytes: size })).bytes, size);
  assert.equal(await sha256Of(dest), sum);
});

test('a pull over a regular file replaces it (a new file, as adb unlinks it first); through a link, into /dev/null or a FIFO it writes in place', async () => {
  const src = join(dir, 'over-src');
  await writeFile(src, 'new bytes');
  await pool.push(a, src, '/data/local/tmp/over', {});
  const dest = join(dir, 'over');
  await writeFile(dest, 'an older and longer file');
  await link(dest, join(dir, 'over.hardlink'));
  await pool.pull(a, '/data/local/tmp/over', dest, {});
  assert.equal(await readFile(dest, 'utf8'), 'new bytes');
  assert.equal(await readFile(join(dir, 'over.hardlink'), 'utf8'), 'an older and longer file', 'the old file was unlinked, not truncated');

  const target = join(dir, 'link-target');
  await writeFile(target, 'old');
  await symlink(target, join(dir, 'over.symlink'));
  await pool.pull(a, '/data/local/tmp/over', join(dir, 'over.symlink'), {});
  assert.ok((await lstat(join(dir, 'over.symlink'))).isSymbolicLink(), 'the link stays');
  assert.equal(await readFile(target, 'utf8'), 'new bytes');

  assert.equal((await pool.pull(a, '/data/local/tmp/over', '/dev/null', {})).bytes, 9);
  assert.ok((await lstat('/dev/null')).isCharacterDevice(), '/dev/null is still the device');

  // A FIFO (as `adb pull x /dev/stdout` into a pipe): written at its own offset, it has no other.
  const fifo = join(dir, 'over.fifo');
  execFileSync('mkfifo', [fifo]);
  const reader = spawn('sh', ['-c', 'cat "$0"', fifo], { stdio: ['ignore', 'pipe', 'ignore'] });
  const read: Buffer[] = [];
  reader.stdout.on('data', (b: Buffer) => read.push(b));
  const exited = new Promise<number | null>((resolve) => reader.on('exit', resolve));
  assert.equal((await pool.pull(a, '/data/local/tmp/over', fifo, {})).bytes, 9);
  assert.equal(await exited, 0);
  assert.equal(Buffer.concat(read).toString(), 'new bytes');
});

test('a full device: the push fails with ENOSPC from the device, leaves no file, and frees its space', async () => {
  const small = await startFleet({ count: 1, storageBytes: 3 * MiB });
  try {
    const addr = small.instances[0]!.address;
    const src = join(dir, 'four');
    await randomFile(src, 4 * MiB);
    await rejectsWith(pool.push(addr, src, '/data/local/tmp/four', {}), (e) => isTransferError(e) && e.code === 'SYNC_FAILED' && /No space left on device/.test(e.detail), 'push past the limit');
    assert.equal(await pool.stat(addr, '/data/local/tmp/four', {}), null);
    const two = join(dir, 'two');
    const sum = await randomFile(two, 2 * MiB);
    await pool.push(addr, two, '/data/local/tmp/two', {});
    await pool.pull(addr, '/data/local/tmp/two', join(dir, 'two.back'), {});
    assert.equal(await sha256Of(join(dir, 'two.back')), sum);
  } finally {
    await small.close();
  }
});

test('faults mid-transfer: transfer-fail is the device FAILing with EIO, transfer-drop a lost connection', async () => {
  const inst = fleet.instances[2]!;
  const src = join(dir, 'five');
  await randomFile(src, 5 * MiB);
  inst.setFault({ kind: 'transfer-fail', afterBytes: 2 * MiB });
  await rejectsWith(pool.push(inst.address, src, '/data/local/tmp/five', {}), (e) => isTransferError(e) && /write failed: I\/O error/.test(e.detail), 'push with transfer-fail');
  inst.setFault(null);
  await pool.push(inst.address, src, '/data/local/tmp/five', {});
  inst.setFault({ kind: 'transfer-fail', afterBytes: 2 * MiB });
  const back = join(dir, 'five.back');
  await rejectsWith(pool.pull(inst.address, '/data/local/tmp/five', back, {}), (e) => isTransferError(e) && /read failed: I\/O error/.test(e.detail), 'pull with transfer-fail');
  assert.equal(existsSync(back), false, 'the partial file is removed');
  // A pool that redials at once: the shared one would back off a connection lost this young.
  const redial = new AdbPool({ ...ADB_TIMEOUTS, key: testKey(), stableAfterMs: 0 });
  try {
    inst.setFault({ kind: 'transfer-drop', afterBytes: MiB });
    await rejectsWith(redial.pull(inst.address, '/data/local/tmp/five', back, {}), (e) => isAdbError(e) && e.code === 'CONNECTION_LOST', 'pull with transfer-drop');
    await rejectsWith(redial.push(inst.address, src, '/data/local/tmp/six', {}), (e) => isAdbError(e) && e.code === 'CONNECTION_LOST', 'push with transfer-drop');
    inst.setFault(null);
    assert.equal(await redial.stat(inst.address, '/data/local/tmp/six', {}), null, 'a cut push leaves no file');
  } finally {
    inst.setFault(null);
    await redial.close();
  }
});

/** A sink that takes its time: backpressure must hold the device, not lose or reorder bytes. */
function slowSink(into: Buffer[]): Writable {
  return new Writable({
    highWaterMark: 64 * 1024,
    write(piece: Buffer, _enc, done) {
      into.push(Buffer.from(piece));
      setTimeout(done, 1);
    },
  });
}

test('exec: is byte for byte: screencap -p is a PNG of the screen size, different per instance; binary cat through a slow sink', async () => {
  const shots: Buffer[] = [];
  for (const addr of [a, b]) {
    const got: Buffer[] = [];
    const r = await pool.execRaw(addr, 'screencap -p', slowSink(got), { timeoutMs: 30_000 });
    const png = Buffer.concat(got);
    assert.equal(r.bytes, png.length);
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature, CR LF untouched');
    assert.equal(png.toString('latin1', 12, 16), 'IHDR');
    const size = (await pool.exec(addr, 'wm size', { maxOutputBytes: MAX_OUTPUT_BYTES })).stdout.toString();
    assert.ok(size.includes(`${png.readUInt32BE(16)}x${png.readUInt32BE(20)}`), `${size} vs IHDR`);
    assert.equal(png.toString('latin1', png.length - 8, png.length - 4), 'IEND');
    shots.push(png);
  }
  assert.ok(!shots[0]!.equals(shots[1]!), 'two instances, two images');
  const src = join(dir, 'bin');
  const sum = await randomFile(src, 3 * MiB + 1);
  await pool.push(a, src, '/data/local/tmp/bin', {});
  const got: Buffer[] = [];
  await pool.execRaw(a, 'cat /data/local/tmp/bin', slowSink(got), { timeoutMs: 60_000 });
  assert.equal(createHash('sha256').update(Buffer.concat(got)).digest('hex'), sum);
  const limited: Buffer[] = [];
  await rejectsWith(pool.execRaw(a, 'cat /data/local/tmp/bin', slowSink(limited), { maxBytes: MiB }), (e) => isTransferError(e) && e.code === 'OUTPUT_LIMIT', 'exec past maxBytes');
});

test('timeouts and cancels of transfers are the exec codes', async () => {
  const src = join(dir, 'five');
  const inst = fleet.instances[2]!;
  // Each answer of the device comes 100 ms late: the OPEN's and the push's final OKAY alone pass 150 ms
  // (with delayed_ack the data itself no longer waits for an answer per MiB).
  inst.setFault({ kind: 'latency', ms: 100 });
  try {
    await rejectsWith(pool.push(inst.address, src, '/data/local/tmp/slow', { timeoutMs: 150 }), (e) => isAdbError(e) && (e.code === 'TIMEOUT' || e.code === 'OPEN_UNANSWERED'), 'push past its timeout');
    const ac = new AbortController();
    const p = pool.pull(inst.address, '/data/local/tmp/five', join(dir, 'cancelled'), { signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    await rejectsWith(p, (e) => isAdbError(e) && e.code === 'CANCELLED', 'pull cancelled');
  } finally {
    inst.setFault(null);
  }
});
