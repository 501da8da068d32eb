// The simulator journals file transfers as it journals commands: a SEND or RECV is on record the
// moment it starts, and ends 'exit' 0 when done, 1 when refused, 'closed' when the host cut it. A
// test can then prove from the journal that a push ran once, as it proves it for a command.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdbPool, isTransferError } from '../../src/adb/index.js';
import { startFleet, type Fleet } from '../../src/sim/index.js';
import { ADB_TIMEOUTS, testKey, until } from '../support/index.js';

let fleet: Fleet;
let pool: AdbPool;
let dir: string;

before(async () => {
  fleet = await startFleet({ count: 1 });
  pool = new AdbPool({ ...ADB_TIMEOUTS, key: testKey() });
  dir = await mkdtemp(join(tmpdir(), 'adbfleet-syncj-'));
});

after(async () => {
  await pool?.close();
  await fleet?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

const syncEntries = () => fleet.journal().filter((e) => e.service === 'sync').map((e) => [e.command, e.end, e.exitCode]);

test('a push and a pull are journaled when they start and end exit 0; a refused one ends exit 1', async () => {
  const addr = fleet.instances[0]!.address;
  const src = join(dir, 'a.bin');
  await writeFile(src, Buffer.alloc(300_000, 7));
  await pool.push(addr, src, '/sdcard/a.bin', { timeoutMs: 10_000 });
  await pool.pull(addr, '/sdcard/a.bin', join(dir, 'back.bin'), { timeoutMs: 10_000 });
  await assert.rejects(pool.push(addr, src, '/system/a.bin', { timeoutMs: 10_000 }), (e) => isTransferError(e) && e.code === 'SYNC_FAILED');
  await assert.rejects(pool.pull(addr, '/sdcard/none', join(dir, 'none'), { timeoutMs: 10_000 }), (e) => isTransferError(e) && e.code === 'SYNC_FAILED');
  // A stat is a query, not a transfer: not journaled.
  assert.equal(await pool.stat(addr, '/sdcard/none', { timeoutMs: 10_000 }), null);
  assert.deepEqual(syncEntries(), [
    ['SEND /sdcard/a.bin', 'exit', 0],
    ['RECV /sdcard/a.bin', 'exit', 0],
    ['SEND /system/a.bin', 'exit', 1],
    ['RECV /sdcard/none', 'exit', 1],
  ]);
  fleet.clearJournal();
});

test('a push the host cancels midway ends closed', async () => {
  const addr = fleet.instances[0]!.address;
  const src = join(dir, 'big.bin');
  await writeFile(src, Buffer.alloc(64 * 1024 * 1024, 1));
  const cancel = new AbortController();
  const push = pool.push(addr, src, '/sdcard/big.bin', { timeoutMs: 30_000, signal: cancel.signal });
  await until('the push to start', () => syncEntries().length === 1);
  cancel.abort();
  await assert.rejects(push);
  await until('the entry to end', () => syncEntries()[0]?.[1] !== 'running');
  assert.deepEqual(syncEntries(), [['SEND /sdcard/big.bin', 'closed', null]]);
});
