// rm in the virtual shell: the worker removes the package copy it pushed for `pm install`, so the
// simulated device must unlink files (freeing a pushed file's storage) as toybox rm does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeviceState } from '../../src/sim/device-state.js';
import { VirtualShell } from '../../src/sim/shell/shell.js';

test('rm unlinks a pushed file and frees its storage; -f is quiet about a missing one; what it may not remove it reports', async () => {
  const dev = new DeviceState('sim-0001', 0, 1024);
  const sh = new VirtualShell(dev);
  const w = dev.files.create('/data/local/tmp/copy.apk', 0o644);
  assert.ok(typeof w !== 'string');
  assert.equal(w.write(Buffer.alloc(600)), null);
  w.commit(Date.now());
  assert.equal(dev.files.used, 600);

  let r = await sh.run('rm -f /data/local/tmp/copy.apk');
  assert.deepEqual([r.stdout, r.stderr, r.exitCode], ['', '', 0]);
  assert.equal(dev.files.stat('/data/local/tmp/copy.apk'), null);
  assert.equal(dev.files.used, 0, 'its bytes are freed');
  r = await sh.run('rm -f /data/local/tmp/copy.apk');
  assert.deepEqual([r.stderr, r.exitCode], ['', 0], '-f: a missing file is no error');
  r = await sh.run('rm /data/local/tmp/copy.apk');
  assert.deepEqual([r.stderr, r.exitCode], ['rm: /data/local/tmp/copy.apk: No such file or directory\n', 1]);
  r = await sh.run('rm /system/build.prop');
  assert.deepEqual([r.stderr, r.exitCode], ['rm: /system/build.prop: Permission denied\n', 1]);
  assert.notEqual(new DeviceState('sim-0002', 1).files.stat('/system/build.prop'), null, 'the shared system tree is untouched');
  r = await sh.run('rm /data/local/tmp');
  assert.deepEqual([r.stderr, r.exitCode], ['rm: /data/local/tmp: Is a directory\n', 1]);
});
