// Installing real APKs (built here with Debian's aapt) on simulated instances: pushed with our
// sync client and installed with `pm install`, or streamed by Debian's `adb install`; `pm list
// packages` and `dumpsys package` then show the manifest's name and version. Downgrades, files
// that are not APKs, and uninstall answer as pm does.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFleet, type Fleet } from '../../src/sim/index.js';
import { AdbPool, type ExecResult } from '../../src/adb/index.js';
import { ADB_TIMEOUTS, MAX_OUTPUT_BYTES, aaptSkip, buildApk, debianAdbSkip, startAdbServer, testKey } from '../support/index.js';

let fleet: Fleet | null = null;
let pool: AdbPool | null = null;
let dir = '';
let v7 = '';
let v5 = '';

const sh = (addr: string, cmd: string): Promise<ExecResult> => pool!.exec(addr, cmd, { timeoutMs: 20_000, maxOutputBytes: MAX_OUTPUT_BYTES });

before(async () => {
  if (aaptSkip !== false) return;
  dir = await mkdtemp(join(tmpdir(), 'adbfleet-apk-test-'));
  v7 = await buildApk({ packageName: 'org.adbfleet.fixture', versionCode: 7, versionName: '1.2.3' }, dir);
  v5 = await buildApk({ packageName: 'org.adbfleet.fixture', versionCode: 5, versionName: '1.0' }, dir);
  fleet = await startFleet({ count: 3 });
  pool = new AdbPool({ ...ADB_TIMEOUTS, key: testKey() });
});

after(async () => {
  await pool?.close();
  await fleet?.close();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

test('an aapt-built APK pushed to two instances and installed is listed with its name and version', { skip: aaptSkip }, async () => {
  for (const inst of fleet!.instances.slice(0, 2)) {
    await pool!.push(inst.address, v7, '/data/local/tmp/fixture.apk', {});
    const r = await sh(inst.address, 'pm install -r /data/local/tmp/fixture.apk');
    assert.equal(r.stdout.toString(), 'Success\n', r.stderr.toString());
    assert.equal(r.exitCode, 0);
    assert.equal((await sh(inst.address, 'pm list packages fixture')).stdout.toString(), 'package:org.adbfleet.fixture\n');
    assert.equal((await sh(inst.address, 'pm list packages -3 --show-versioncode fixture')).stdout.toString(), 'package:org.adbfleet.fixture versionCode:7\n');
    assert.match((await sh(inst.address, 'dumpsys package org.adbfleet.fixture')).stdout.toString(), /versionCode=7 [^\n]*\n\s+versionName=1\.2\.3\n/);
  }
  // The third instance had nothing installed.
  assert.equal((await sh(fleet!.instances[2]!.address, 'pm list packages fixture')).stdout.toString(), '');
});

test('a downgrade fails without -d; a file that is not an APK fails to parse; uninstall removes it', { skip: aaptSkip }, async () => {
  const addr = fleet!.instances[0]!.address;
  await pool!.push(addr, v5, '/data/local/tmp/old.apk', {});
  const down = await sh(addr, 'pm install /data/local/tmp/old.apk');
  assert.equal(down.exitCode, 1);
  assert.match(down.stdout.toString(), /^Failure \[INSTALL_FAILED_VERSION_DOWNGRADE: .*version code 5 is older than current 7\]\n$/);
  const forced = await sh(addr, 'pm install -d /data/local/tmp/old.apk');
  assert.equal(forced.stdout.toString(), 'Success\n');
  assert.match((await sh(addr, 'pm list packages --show-versioncode fixture')).stdout.toString(), /versionCode:5\n/);

  await writeFile(join(dir, 'junk.apk'), 'PK\u0003\u0004 not really a zip');
  await pool!.push(addr, join(dir, 'junk.apk'), '/data/local/tmp/junk.apk', {});
  const junk = await sh(addr, 'pm install /data/local/tmp/junk.apk');
  assert.equal(junk.exitCode, 1);
  assert.match(junk.stdout.toString(), /^Failure \[INSTALL_PARSE_FAILED_NOT_APK: /);
  const missing = await sh(addr, 'pm install /data/local/tmp/none.apk');
  assert.equal(missing.exitCode, 1);
  assert.match(missing.stderr.toString(), /Can't open file: \/data\/local\/tmp\/none\.apk/);

  assert.equal((await sh(addr, 'pm uninstall org.adbfleet.fixture')).stdout.toString(), 'Success\n');
  assert.equal((await sh(addr, 'pm list packages fixture')).stdout.toString(), '');
  const again = await sh(addr, 'pm uninstall org.adbfleet.fixture');
  assert.equal(again.exitCode, 1);
  assert.equal(again.stdout.toString(), 'Failure [DELETE_FAILED_INTERNAL_ERROR]\n');
});

test("Debian's adb install streams the APK (exec:cmd package install -S) and the package is listed", { skip: aaptSkip || debianAdbSkip }, async () => {
  const server = await startAdbServer();
  try {
    const addr = fleet!.instances[2]!.address;
    await server.connect(addr);
    const r = await server.run(['-s', addr, 'install', v7]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /Success/);
    assert.equal((await sh(addr, 'pm list packages --show-versioncode fixture')).stdout.toString(), 'package:org.adbfleet.fixture versionCode:7\n');
  } finally {
    await server.close();
  }
});
