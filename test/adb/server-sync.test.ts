// File transfers and the raw exec through Debian's adb server (adb-server://HOST:PORT/SERIAL), as
// for a USB phone: FleetPool routes them to AdbServerPool, each on its own socket through the
// server, with TCP's flow control in place of ADB's; the bytes come back identical, the device's
// FAIL is the same typed error as on the direct path.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { startFleet, type Fleet } from '../../src/sim/index.js';
import { FleetPool, isTransferError } from '../../src/adb/index.js';
import { ADB_TIMEOUTS, debianAdbSkip as skip, startAdbServer, testKey, type AdbServer } from '../support/index.js';

let server: AdbServer | null = null;
let fleet: Fleet | null = null;
let pool: FleetPool | null = null;
let dir = '';
let viaServer = '';
let direct = '';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

before(async () => {
  if (skip !== false) return;
  dir = await mkdtemp(join(tmpdir(), 'adbfleet-server-sync-'));
  fleet = await startFleet({ count: 1 });
  server = await startAdbServer();
  direct = fleet.instances[0]!.address;
  await server.connect(direct);
  viaServer = `adb-server://127.0.0.1:${server.port}/${direct}`;
  pool = new FleetPool({ ...ADB_TIMEOUTS, key: testKey() });
});

after(async () => {
  await pool?.close();
  await server?.close();
  await fleet?.close();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

test('push and pull through the adb server: 9 MiB byte-identical both ways, and the direct path reads the same file', { skip }, async () => {
  const data = randomBytes(9 * 1024 * 1024 + 3);
  const src = join(dir, 'src');
  await writeFile(src, data);
  assert.equal((await pool!.push(viaServer, src, '/data/local/tmp/s.bin', { timeoutMs: 60_000 })).bytes, data.length);
  assert.equal((await pool!.stat(viaServer, '/data/local/tmp/s.bin', {}))?.size, data.length);
  assert.ok((await pool!.list(viaServer, '/data/local/tmp', {})).some((e) => e.name === 's.bin'));
  await pool!.pull(viaServer, '/data/local/tmp/s.bin', join(dir, 'back'), { timeoutMs: 60_000 });
  assert.equal(sha(await readFile(join(dir, 'back'))), sha(data));
  await pool!.pull(direct, '/data/local/tmp/s.bin', join(dir, 'direct'), { timeoutMs: 60_000 });
  assert.equal(sha(await readFile(join(dir, 'direct'))), sha(data));
});

test("the device's FAIL through the server is SYNC_FAILED with its message", { skip }, async () => {
  await assert.rejects(pool!.pull(viaServer, '/data/local/tmp/none', join(dir, 'none'), {}), (e: unknown) => isTransferError(e) && e.code === 'SYNC_FAILED' && /No such file or directory/.test(e.detail));
});

test('screencap -p through the server arrives as a PNG, byte for byte', { skip }, async () => {
  const got: Buffer[] = [];
  const sink = new Writable({
    write(piece: Buffer, _enc, done) {
      got.push(Buffer.from(piece));
      done();
    },
  });
  const r = await pool!.execRaw(viaServer, 'screencap -p', sink, { timeoutMs: 30_000 });
  const png = Buffer.concat(got);
  assert.equal(r.bytes, png.length);
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  assert.equal(png.toString('latin1', png.length - 8, png.length - 4), 'IEND');
});
