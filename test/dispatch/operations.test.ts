// Device operations as the worker runs them (src/dispatch/operations.ts), against the simulator
// through the real pool and a real artifact directory: each operation does what SPEC §10 says and
// reports it as a job result (code, execute_msg, artifact), and what it leaves behind.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_OUTPUT_BYTES, aaptSkip, buildApk } from '../support/index.js';
import { MiB, opsBench, sha256, type OpsBench } from './ops-support.js';

let b: OpsBench;

before(async () => {
  b = await opsBench({ count: 2 });
});

after(async () => {
  await b?.close();
});

async function shell(i: number, command: string): Promise<string> {
  return (await b.pool.exec(b.fleet.instances[i]!.address, command, { maxOutputBytes: MAX_OUTPUT_BYTES })).stdout.toString();
}

test('install pushes the APK, runs pm install -r and removes the copy; the package is listed; uninstall removes it', { skip: aaptSkip }, async () => {
  const apkDir = await mkdtemp(join(tmpdir(), 'adbfleet-ops-apk-'));
  try {
    const apk = await buildApk({ packageName: 'com.example.opsworker', versionCode: 7, versionName: '1.7' }, apkDir);
    const ref = await b.blobOfFile(apk);
    const op = { kind: 'install', artifact: { ...ref, artifactId: 'a'.repeat(32) }, packageName: 'com.example.opsworker', versionCode: 7, versionName: '1.7' } as const;
    const r = await b.run(op, 0);
    assert.equal(r.errorCode, '0', r.errorMsg);
    assert.equal(r.state, 'succeeded');
    assert.equal(r.exitCode, 0);
    assert.equal(r.executeMsg, 'Success\n', 'pm install output, as a command has it');
    assert.equal(r.output?.stdout.toString(), 'Success\n');
    assert.ok(r.artifact == null, 'an install produces no file');
    assert.match(await shell(0, 'pm list packages --show-versioncode'), /^package:com\.example\.opsworker versionCode:7$/m);
    assert.doesNotMatch(await shell(1, 'pm list packages'), /com\.example\.opsworker/, 'the other instance is untouched');
    assert.doesNotMatch(await shell(0, 'ls /data/local/tmp'), /adbfleet-/, 'the copy pushed for pm is removed');

    const gone = await b.run({ kind: 'uninstall', packageName: 'com.example.opsworker' }, 0);
    assert.equal(gone.errorCode, '0', gone.errorMsg);
    assert.equal(gone.executeMsg, 'Success\n');
    assert.doesNotMatch(await shell(0, 'pm list packages'), /com\.example\.opsworker/);
    const again = await b.run({ kind: 'uninstall', packageName: 'com.example.opsworker' }, 0);
    assert.equal(again.errorCode, 'KOOPHONE.JOB.1001', 'pm failing is a non-zero exit, as for a command');
    assert.equal(again.errorMsg, 'exit status 1');
    assert.match(again.executeMsg, /^Failure/);
  } finally {
    await rm(apkDir, { recursive: true, force: true });
  }
});

test('install of a file that is not an APK fails 1001 with pm output, and its copy is removed', async () => {
  const ref = await b.blob(Buffer.from('not a zip at all'));
  const r = await b.run({ kind: 'install', artifact: { ...ref, artifactId: 'b'.repeat(32) }, packageName: 'com.example.bad', versionCode: null, versionName: null }, 1);
  assert.equal(r.errorCode, 'KOOPHONE.JOB.1001');
  assert.equal(r.exitCode, 1);
  assert.match(r.executeMsg, /INSTALL_PARSE_FAILED_NOT_APK/);
  assert.doesNotMatch(await shell(1, 'ls /data/local/tmp'), /adbfleet-/, 'the copy pushed for pm is removed');
});

test('push puts the bytes at the path with the mode; execute_msg says how many went where', async () => {
  const ref = await b.blob(3 * MiB + 1);
  const path = '/data/local/tmp/ops/deep/pushed.bin';
  const r = await b.run({ kind: 'push', artifact: { ...ref, artifactId: 'c'.repeat(32) }, path, mode: 0o600 }, 0);
  assert.equal(r.errorCode, '0', r.errorMsg);
  assert.equal(r.state, 'succeeded');
  assert.equal(r.exitCode, null, 'no command ran: no exit status');
  assert.equal(r.executeMsg, `pushed ${3 * MiB + 1} bytes to ${path}`);
  assert.equal(r.output, null);
  assert.ok(r.artifact == null);
  assert.equal(sha256(await b.deviceFile(0, path)), ref.sha256, 'the device has the same bytes');
  const st = await b.pool.stat(b.fleet.instances[0]!.address, path, {});
  assert.equal(st!.mode & 0o7777, 0o600);
  assert.equal(await b.pool.stat(b.fleet.instances[1]!.address, path, {}), null, 'pushed to that instance alone');
});

test('pull stores the device file in the artifact directory: the right bytes, sha256 and size', async () => {
  const ref = await b.blob(2 * MiB + 3);
  const path = '/sdcard/Download/to-pull.bin';
  assert.equal((await b.run({ kind: 'push', artifact: { ...ref, artifactId: 'd'.repeat(32) }, path, mode: 0o644 }, 1)).errorCode, '0');
  // The pushed blob goes, so the pulled one is the pull's own file.
  await b.blobs.remove(ref.sha256);
  const r = await b.run({ kind: 'pull', path }, 1);
  assert.equal(r.errorCode, '0', r.errorMsg);
  assert.equal(r.exitCode, null);
  assert.equal(r.executeMsg, `pulled ${2 * MiB + 3} bytes from ${path}`);
  assert.deepEqual(r.artifact, { sha256: ref.sha256, size: 2 * MiB + 3, contentType: 'application/octet-stream' });
  assert.ok((await readFile(b.blobs.pathOf(ref.sha256))).equals(ref.bytes));
  assert.deepEqual(await b.tmpFiles(), [], 'no temporary file is left');
});

test('screenshot: a PNG of the screen size in the artifact directory, different per instance', async () => {
  const shots: Buffer[] = [];
  for (const i of [0, 1]) {
    const r = await b.run({ kind: 'screenshot' }, i);
    assert.equal(r.errorCode, '0', r.errorMsg);
    assert.equal(r.artifact?.contentType, 'image/png');
    const png = await readFile(b.blobs.pathOf(r.artifact.sha256));
    assert.equal(png.length, r.artifact.size);
    assert.equal(sha256(png), r.artifact.sha256);
    assert.ok(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])), 'PNG signature');
    const [w, h] = [png.readUInt32BE(16), png.readUInt32BE(20)];
    assert.match(await shell(i, 'wm size'), new RegExp(`${w}x${h}`));
    assert.equal(r.executeMsg, `screenshot ${w}x${h} PNG, ${png.length} bytes`);
    shots.push(png);
  }
  assert.ok(!shots[0]!.equals(shots[1]!), 'two instances, two images');
  assert.deepEqual(await b.tmpFiles(), []);
});

test('without an artifact directory, file operations fail 9999 and are logged; uninstall still runs', async () => {
  const { Operations } = await import('../../src/dispatch/operations.js');
  const { JobCancel } = await import('../../src/dispatch/lane.js');
  const ops = new Operations({ pool: b.pool, blobs: null, artifactMaxBytes: MiB, maxOutputBytes: MAX_OUTPUT_BYTES, logger: b.logger });
  const job = { jobKey: 1, jobId: 'f'.repeat(32), instanceId: 'i0', timeoutMs: 10_000, abortReason: null };
  const before = b.logger.errors.length;
  const r = await ops.run(job, { kind: 'pull', path: '/sdcard/x' }, b.fleet.instances[0]!.address, new JobCancel());
  assert.equal(r.errorCode, 'KOOPHONE.JOB.9999');
  assert.equal(r.errorMsg, 'internal error');
  assert.equal(b.logger.errors.length, before + 1);
  assert.match(String((b.logger.errors.at(-1)!.obj as { err: Error }).err.message), /artifact directory/);
  const u = await ops.run(job, { kind: 'uninstall', packageName: 'com.example.never' }, b.fleet.instances[0]!.address, new JobCancel());
  assert.equal(u.errorCode, 'KOOPHONE.JOB.1001');
});
