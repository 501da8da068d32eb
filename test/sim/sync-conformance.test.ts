// File sync against Debian's real `adb` (29.x, through its private server) and the simulator:
// what adb pushes our client pulls byte-identical, what our client pushes adb pulls
// byte-identical, and both pull the same bytes of one file; adb reads the simulator's FAILs.
// Also a screenshot written on the device, pulled by both.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFleet, type Fleet } from '../../src/sim/index.js';
import { AdbPool } from '../../src/adb/index.js';
import { ADB_TIMEOUTS, debianAdbSkip as skip, startAdbServer, testKey, type AdbServer } from '../support/index.js';

let server: AdbServer | null = null;
let fleet: Fleet | null = null;
let pool: AdbPool | null = null;
let dir = '';
let addr = '';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

before(async () => {
  if (skip !== false) return;
  dir = await mkdtemp(join(tmpdir(), 'adbfleet-syncconf-'));
  fleet = await startFleet({ count: 1 });
  pool = new AdbPool({ ...ADB_TIMEOUTS, key: testKey() });
  server = await startAdbServer();
  addr = fleet.instances[0]!.address;
  await server.connect(addr);
});

after(async () => {
  await server?.close();
  await pool?.close();
  await fleet?.close();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

test("adb push, then our pull; our push, then adb pull; adb and we pull the same bytes", { skip }, async () => {
  // Odd sizes, and one past several 64 KiB DATA pieces and 1 MiB payloads.
  for (const size of [0, 1, 65_536, 3 * 1024 * 1024 + 17]) {
    const data = randomBytes(size);
    const src = join(dir, `src-${size}`);
    await writeFile(src, data);
    const viaAdb = `/data/local/tmp/adb-${size}`;
    const r = await server!.run(['-s', addr, 'push', src, viaAdb]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await pool!.pull(addr, viaAdb, join(dir, `ours-${size}`), {});
    assert.equal(sha(await readFile(join(dir, `ours-${size}`))), sha(data), `adb push ${size} bytes, our pull`);

    const viaOurs = `/sdcard/Download/ours-${size}`;
    await pool!.push(addr, src, viaOurs, {});
    const p = await server!.run(['-s', addr, 'pull', viaOurs, join(dir, `adb-${size}`)]);
    assert.equal(p.code, 0, p.stdout + p.stderr);
    assert.equal(sha(await readFile(join(dir, `adb-${size}`))), sha(data), `our push ${size} bytes, adb pull`);
    const q = await server!.run(['-s', addr, 'pull', viaAdb, join(dir, `adb2-${size}`)]);
    assert.equal(q.code, 0, q.stdout + q.stderr);
    assert.equal(sha(await readFile(join(dir, `adb2-${size}`))), sha(await readFile(join(dir, `ours-${size}`))), `adb and we pull the same ${size} bytes`);
  }
});

test("adb reads the simulator's FAILs and STATs: a missing file, a read-only directory, a directory target", { skip }, async () => {
  const missing = await server!.run(['-s', addr, 'pull', '/data/local/tmp/none', join(dir, 'none')]);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stdout + missing.stderr, /'\/data\/local\/tmp\/none' does not exist/);
  const src = join(dir, 'ro');
  await writeFile(src, 'x');
  const ro = await server!.run(['-s', addr, 'push', src, '/system/ro']);
  assert.notEqual(ro.code, 0);
  assert.match(ro.stdout + ro.stderr, /couldn't create file: Permission denied/);
  // adb stats a directory target and pushes into it under the file's own name.
  const into = await server!.run(['-s', addr, 'push', src, '/data/local/tmp/']);
  assert.equal(into.code, 0, into.stdout + into.stderr);
  assert.equal((await pool!.stat(addr, '/data/local/tmp/ro', {}))?.size, 1);
});

test('screencap -p into a file: adb and we pull the same PNG', { skip }, async () => {
  const out = join(dir, 'shot.png');
  const r = await server!.run(['-s', addr, 'shell', `screencap -p /sdcard/shot.png`]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const p = await server!.run(['-s', addr, 'pull', '/sdcard/shot.png', out]);
  assert.equal(p.code, 0, p.stdout + p.stderr);
  const png = await readFile(out);
  assert.equal(png.toString('latin1', 1, 4), 'PNG');
  await pool!.pull(addr, '/sdcard/shot.png', join(dir, 'shot-ours.png'), {});
  assert.ok(png.equals(await readFile(join(dir, 'shot-ours.png'))));
});
