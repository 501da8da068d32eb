// Device operations that fail (src/dispatch/operations.ts), against the simulator through the real
// pool and a real artifact directory: what the device refuses is 1008 with its words, a file past
// the artifact limit is 1008, timeouts, cancels and broken connections are the command codes, and
// no failure leaves a temporary file behind.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { JobCancel } from '../../src/dispatch/lane.js';
import { Operations } from '../../src/dispatch/operations.js';
import type { WorkerPool } from '../../src/dispatch/index.js';
import { MAX_OUTPUT_BYTES, until } from '../support/index.js';
import { MiB, deviceBytes, opsBench, watchDeviceBytes, type OpsBench } from './ops-support.js';

let b: OpsBench;
/** no delayed_ack, and each answer of the device 50 ms late: a push of 32 MiB takes seconds */
let slow: OpsBench;

before(async () => {
  b = await opsBench({ count: 2, storageBytes: 8 * MiB });
  slow = await opsBench({ count: 1, features: ['shell_v2', 'cmd'] });
  slow.fleet.instances[0]!.setFault({ kind: 'latency', ms: 50 });
});

after(async () => {
  await b?.close();
  await slow?.close();
});

const FAILED = 'the file operation failed: ';

test('a push the device refuses is 1008 with its message', async () => {
  const ref = await b.blob(1000);
  const r = await b.run({ kind: 'push', artifact: { ...ref, artifactId: 'a'.repeat(32) }, path: '/system/refused.bin', mode: 0o644 }, 0);
  assert.equal(r.state, 'failed');
  assert.equal(r.errorCode, 'KOOPHONE.JOB.1008');
  assert.equal(r.errorMsg, `${FAILED}push to /system/refused.bin: couldn't create file: Permission denied`);
  assert.equal(r.exitCode, null);
  assert.ok(r.artifact == null);
});

test('storage full: the push is 1008 "No space left on device" and leaves nothing on the device', async () => {
  const ref = await b.blob(9 * MiB);
  const r = await b.run({ kind: 'push', artifact: { ...ref, artifactId: 'b'.repeat(32) }, path: '/data/local/tmp/too-big.bin', mode: 0o644 }, 1);
  assert.equal(r.errorCode, 'KOOPHONE.JOB.1008');
  assert.equal(r.errorMsg, `${FAILED}push to /data/local/tmp/too-big.bin: write failed: No space left on device`);
  assert.equal(await b.pool.stat(b.fleet.instances[1]!.address, '/data/local/tmp/too-big.bin', {}), null);
  assert.equal(deviceBytes(b.fleet.instances[1]!), 0);
});

test('a pull of a missing file is 1008 with the device message, and leaves no temporary file', async () => {
  const r = await b.run({ kind: 'pull', path: '/sdcard/no-such-file' }, 0);
  assert.equal(r.errorCode, 'KOOPHONE.JOB.1008');
  assert.equal(r.errorMsg, `${FAILED}pull of /sdcard/no-such-file: open failed: No such file or directory`);
  // execute_msg says it too: KooPhone clients read what happened on the device there.
  assert.equal(r.executeMsg, 'pull of /sdcard/no-such-file: open failed: No such file or directory');
  assert.ok(r.artifact == null);
  assert.deepEqual(await b.tmpFiles(), []);
});

test('a pull past the artifact limit is 1008 naming the limit; nothing is left in the artifact directory', async () => {
  const ref = await b.blob(2 * MiB);
  assert.equal((await b.run({ kind: 'push', artifact: { ...ref, artifactId: 'c'.repeat(32) }, path: '/sdcard/two.bin', mode: 0o644 }, 0)).errorCode, '0');
  await b.blobs.remove(ref.sha256);
  const r = await b.run({ kind: 'pull', path: '/sdcard/two.bin' }, 0, { artifactMaxBytes: MiB });
  assert.equal(r.errorCode, 'KOOPHONE.JOB.1008');
  assert.equal(r.errorMsg, `${FAILED}pull of /sdcard/two.bin: larger than the artifact limit of ${MiB} bytes`);
  assert.ok(r.artifact == null);
  assert.deepEqual(await b.tmpFiles(), []);
  assert.equal(await b.blobs.sizeOf(ref.sha256), null, 'no blob of it either');
  // At the limit exactly, it is pulled.
  const ok = await b.run({ kind: 'pull', path: '/sdcard/two.bin' }, 0, { artifactMaxBytes: 2 * MiB });
  assert.equal(ok.errorCode, '0', ok.errorMsg);
});

test('a screenshot past the artifact limit is 1008 naming the limit; no temporary file is left', async () => {
  const r = await b.run({ kind: 'screenshot' }, 1, { artifactMaxBytes: 1000 });
  assert.equal(r.errorCode, 'KOOPHONE.JOB.1008');
  assert.equal(r.errorMsg, `${FAILED}screenshot: larger than the artifact limit of 1000 bytes`);
  assert.ok(r.artifact == null);
  assert.deepEqual(await b.tmpFiles(), []);
});

test('a screencap that does not print a PNG is 1008, with no artifact and no temporary file', async () => {
  // A device whose screencap prints something else: the real pool, the command swapped for a cat of a text file.
  const ref = await b.blob(Buffer.from('screencap: no display\n'));
  const pushed = await b.run({ kind: 'push', artifact: { ...ref, artifactId: 'd'.repeat(32) }, path: '/data/local/tmp/not-png', mode: 0o644 }, 0);
  assert.equal(pushed.errorCode, '0');
  const pool = new Proxy(b.pool, {
    get: (target, prop) =>
      prop === 'execRaw'
        ? (address: string, _command: string, sink: Parameters<WorkerPool['execRaw']>[2], opts: Parameters<WorkerPool['execRaw']>[3]) =>
            target.execRaw(address, 'cat /data/local/tmp/not-png', sink, opts)
        : (Reflect.get(target, prop, target) as unknown),
  }) as WorkerPool;
  const ops = new Operations({ pool, blobs: b.blobs, artifactMaxBytes: MiB, maxOutputBytes: MAX_OUTPUT_BYTES, logger: b.logger });
  const r = await ops.run({ jobKey: 1, jobId: 'f'.repeat(32), instanceId: 'i0', timeoutMs: 10_000, abortReason: null }, { kind: 'screenshot' }, b.fleet.instances[0]!.address, new JobCancel());
  assert.equal(r.errorCode, 'KOOPHONE.JOB.1008');
  assert.match(r.errorMsg, /^the file operation failed: screencap -p did not give a PNG image \(22 bytes, starting /);
  assert.ok(r.artifact == null);
  assert.deepEqual(await b.tmpFiles(), []);
});

test('a timeout mid-push is 1003; the device drops the partial file', async () => {
  const inst = slow.fleet.instances[0]!;
  const ref = await slow.blob(32 * MiB);
  const seen = watchDeviceBytes(inst);
  const r = await slow.run({ kind: 'push', artifact: { ...ref, artifactId: 'e'.repeat(32) }, path: '/data/local/tmp/slow.bin', mode: 0o644 }, 0, { timeoutMs: 1_000 });
  seen.stop();
  assert.equal(r.state, 'timed_out');
  assert.equal(r.errorCode, 'KOOPHONE.JOB.1003');
  assert.ok(seen.max() > 0, 'the push was under way');
  assert.ok(seen.max() < 32 * MiB, 'and not complete');
  await until('the device to drop the partial file', () => deviceBytes(inst) === 0);
  assert.equal(await slow.pool.stat(inst.address, '/data/local/tmp/slow.bin', { timeoutMs: 10_000 }), null);
});

test('a cancel mid-push is 1004 and stops the transfer: the device sees the push end early', async () => {
  const inst = slow.fleet.instances[0]!;
  const ref = await slow.blob(32 * MiB);
  const cancel = new JobCancel();
  const seen = watchDeviceBytes(inst);
  const running = slow.run({ kind: 'push', artifact: { ...ref, artifactId: 'f'.repeat(32) }, path: '/data/local/tmp/cancelled.bin', mode: 0o644 }, 0, { cancel });
  await until('the push to be under way', () => deviceBytes(inst) >= 2 * MiB);
  cancel.abort();
  const r = await running;
  assert.equal(r.state, 'cancelled');
  assert.equal(r.errorCode, 'KOOPHONE.JOB.1004');
  assert.equal(r.errorMsg, 'cancelled');
  await until('the device to drop the partial file', () => deviceBytes(inst) === 0);
  // Whatever was still in flight has landed by now: had the host gone on sending, the device would hold more.
  await new Promise((resolve) => setTimeout(resolve, 300));
  seen.stop();
  assert.ok(seen.max() < 32 * MiB, `the device got ${seen.max()} of ${32 * MiB} bytes`);
  assert.equal(await slow.pool.stat(inst.address, '/data/local/tmp/cancelled.bin', { timeoutMs: 10_000 }), null, 'no file is left');

  // The worker stopping aborts the same way, and the job is 1006.
  const stop = new JobCancel();
  const stopped = slow.run({ kind: 'push', artifact: { ...ref, artifactId: 'f'.repeat(32) }, path: '/data/local/tmp/stopped.bin', mode: 0o644 }, 0, { cancel: stop, abortReason: 'stop' });
  await until('the push to be under way', () => deviceBytes(inst) > 0);
  stop.abort();
  assert.equal((await stopped).errorCode, 'KOOPHONE.JOB.1006');
});

test('a connection dropped mid-transfer is 1005, for a push and for a pull (no temporary file left)', async () => {
  // A pool that redials at once: the default one backs off a connection lost this young.
  const d = await opsBench({ count: 1 }, { stableAfterMs: 0 });
  try {
    const inst = d.fleet.instances[0]!;
    const ref = await d.blob(4 * MiB);
    assert.equal((await d.run({ kind: 'push', artifact: { ...ref, artifactId: 'a'.repeat(32) }, path: '/data/local/tmp/four.bin', mode: 0o644 }, 0)).errorCode, '0');
    inst.setFault({ kind: 'transfer-drop', afterBytes: MiB });
    const push = await d.run({ kind: 'push', artifact: { ...ref, artifactId: 'a'.repeat(32) }, path: '/data/local/tmp/other.bin', mode: 0o644 }, 0);
    assert.equal(push.errorCode, 'KOOPHONE.JOB.1005');
    assert.equal(push.errorMsg, 'the ADB connection broke while the command ran');
    const pull = await d.run({ kind: 'pull', path: '/data/local/tmp/four.bin' }, 0);
    assert.equal(pull.errorCode, 'KOOPHONE.JOB.1005');
    assert.deepEqual(await d.tmpFiles(), []);
    // A device failing the read mid-file is its own refusal, not a broken connection.
    inst.setFault({ kind: 'transfer-fail', afterBytes: MiB });
    const failed = await d.run({ kind: 'pull', path: '/data/local/tmp/four.bin' }, 0);
    assert.equal(failed.errorCode, 'KOOPHONE.JOB.1008');
    assert.equal(failed.errorMsg, `${FAILED}pull of /data/local/tmp/four.bin: read failed: I/O error`);
    assert.deepEqual(await d.tmpFiles(), []);
  } finally {
    await d.close();
  }
});

