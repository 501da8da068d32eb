// Device operations through the whole worker: tasks created in the real store as the API creates
// them, run by the dispatcher on the simulator, their results and files in the store and the
// artifact directory. Per-instance FIFO holds between operations and commands; cancel, timeout and
// the worker's stop reach a transfer as they reach a command.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ArtifactUse } from '../../src/core/index.js';
import type { CreatedTask } from '../../src/store/index.js';
import { aaptSkip, buildApk, MAX_OUTPUT_BYTES, until } from '../support/index.js';
import { deviceBytes, MiB } from './ops-support.js';
import { fixture, type Fixture, type FixtureOptions } from './setup.js';

async function withFixture(fn: (f: Fixture) => Promise<void>, opts: FixtureOptions = {}): Promise<void> {
  const f = await fixture(opts);
  try {
    await fn(f);
  } finally {
    await f.close();
  }
}

async function* once(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

/** Stores the bytes in the artifact directory and as the tenant's upload, as POST /v1/artifacts does. */
async function upload(f: Fixture, source: Buffer | string): Promise<ArtifactUse> {
  const ref = await f.blobs.write(typeof source === 'string' ? (createReadStream(source) as AsyncIterable<Buffer>) : once(source), Number.MAX_SAFE_INTEGER);
  const artifact = await f.store.putArtifact(f.tenantKey, { ...ref, contentType: 'application/octet-stream' }, Date.now());
  return { ...ref, artifactId: artifact.artifactId };
}

async function shell(f: Fixture, i: number, command: string): Promise<string> {
  return (await f.pool.exec(f.fleet.instances[i]!.address, command, { maxOutputBytes: MAX_OUTPUT_BYTES })).stdout.toString();
}

test('push, pull and screenshot tasks run on every instance; pull and screenshot jobs keep their file', async () => {
  await withFixture(async (f) => {
    const bytes = randomBytes(MiB + 5);
    const artifact = await upload(f, bytes);
    const pushed = await f.finish(await f.submitOp({ kind: 'push', artifact, path: '/sdcard/Download/fleet.bin', mode: 0o644 }, f.ids));
    for (const job of pushed) {
      assert.equal(job.errorCode, '0', job.errorMsg);
      assert.equal(job.executeMsg, `pushed ${MiB + 5} bytes to /sdcard/Download/fleet.bin`);
    }
    // The upload's file goes: what the pull keeps is its own.
    await f.blobs.remove(artifact.sha256);
    const pull = await f.submitOp({ kind: 'pull', path: '/sdcard/Download/fleet.bin' }, [f.ids[1]!]);
    const [pulled] = await f.finish(pull);
    assert.equal(pulled!.errorCode, '0', pulled!.errorMsg);
    const kept = await f.store.getJobArtifact(f.tenantKey, pull.taskId, pulled!.jobId);
    assert.deepEqual(kept, { artifact: { sha256: artifact.sha256, size: MiB + 5, contentType: 'application/octet-stream' } });
    assert.ok((await readFile(f.blobs.pathOf(artifact.sha256))).equals(bytes));

    const shot = await f.submitOp({ kind: 'screenshot' }, f.ids);
    const shots = await f.finish(shot);
    const files: string[] = [];
    for (const job of shots) {
      assert.equal(job.errorCode, '0', job.errorMsg);
      assert.match(job.executeMsg, /^screenshot \d+x\d+ PNG, \d+ bytes$/);
      const a = (await f.store.getJobArtifact(f.tenantKey, shot.taskId, job.jobId))?.artifact;
      assert.equal(a?.contentType, 'image/png');
      files.push(a!.sha256);
    }
    assert.notEqual(files[0], files[1], 'two instances, two images');
    assert.deepEqual(await readdir(join(f.dir, 'artifacts', 'tmp')), []);
  });
});

test('an install task (ZGCA id) installs the package on each instance; uninstall removes it', { skip: aaptSkip }, async () => {
  const apkDir = await mkdtemp(join(tmpdir(), 'adbfleet-dispatch-apk-'));
  try {
    await withFixture(async (f) => {
      const apk = await buildApk({ packageName: 'com.example.fleetinstall', versionCode: 3, versionName: '3.0' }, apkDir);
      const artifact = await upload(f, apk);
      const task = await f.submitOp({ kind: 'install', artifact, packageName: 'com.example.fleetinstall', versionCode: 3, versionName: '3.0' }, f.ids);
      assert.match(task.taskId, /^ZGCA[0-9a-f]{28}$/);
      for (const job of await f.finish(task)) {
        assert.equal(job.errorCode, '0', job.errorMsg);
        assert.equal(job.exitCode, 0);
        assert.equal(job.executeMsg, 'Success\n');
      }
      for (const i of [0, 1]) assert.match(await shell(f, i, 'pm list packages'), /^package:com\.example\.fleetinstall$/m);
      const [gone] = await f.finish(await f.submitOp({ kind: 'uninstall', packageName: 'com.example.fleetinstall' }, [f.ids[0]!]));
      assert.equal(gone!.errorCode, '0', gone!.errorMsg);
      assert.doesNotMatch(await shell(f, 0, 'pm list packages'), /fleetinstall/);
      assert.match(await shell(f, 1, 'pm list packages'), /fleetinstall/);
    });
  } finally {
    await rm(apkDir, { recursive: true, force: true });
  }
});

test('per-instance FIFO: operations and commands queued on one instance run in submission order', async () => {
  await withFixture(async (f) => {
    const id = f.ids[0]!;
    const artifact = await upload(f, randomBytes(4 * MiB));
    // Submitted back to back, before the first can have finished.
    const tasks = [
      await f.submit('sleep 0.2; ls /data/local/tmp', [id]),
      await f.submitOp({ kind: 'push', artifact, path: '/data/local/tmp/fifo.bin', mode: 0o644 }, [id]),
      await f.submit('ls -l /data/local/tmp/fifo.bin', [id]),
      await f.submitOp({ kind: 'pull', path: '/data/local/tmp/fifo.bin' }, [id]),
      await f.submitOp({ kind: 'screenshot' }, [id]),
      await f.submit('echo last', [id]),
    ];
    const jobs = [];
    for (const t of tasks) jobs.push((await f.finish(t))[0]!);
    for (const job of jobs) assert.equal(job.errorCode, '0', `${job.errorMsg} ${job.executeMsg}`);
    assert.doesNotMatch(jobs[0]!.executeMsg, /fifo\.bin/, 'the command before the push ran before it');
    assert.match(jobs[2]!.executeMsg, new RegExp(` ${4 * MiB} .*fifo\\.bin`), 'the command after the push sees the whole file');
    for (let i = 1; i < jobs.length; i++) {
      assert.ok(jobs[i]!.startedAt! >= jobs[i - 1]!.finishedAt!, `job ${i} started after job ${i - 1} finished`);
    }
  });
});

/** A fleet whose first instance is slow at taking a push: no delayed_ack, answers 50 ms late. */
const SLOW: FixtureOptions = { count: 1, features: ['shell_v2', 'cmd'] };

async function slowPush(f: Fixture, timeoutMs = 60_000): Promise<CreatedTask> {
  f.fleet.instances[0]!.setFault({ kind: 'latency', ms: 50 });
  const artifact = await upload(f, randomBytes(32 * MiB));
  const task = await f.submitOp({ kind: 'push', artifact, path: '/data/local/tmp/slow.bin', mode: 0o644 }, [f.ids[0]!], timeoutMs);
  await until('the push to be under way', () => deviceBytes(f.fleet.instances[0]!) >= MiB);
  return task;
}

test('cancelling a task mid-push is 1004: the transfer stops and the device keeps nothing', async () => {
  await withFixture(async (f) => {
    const task = await slowPush(f);
    await f.tasks.cancel(f.tenantKey, task.taskId);
    const [job] = await f.finish(task);
    assert.equal(job!.state, 'cancelled');
    assert.equal(job!.errorCode, 'KOOPHONE.JOB.1004');
    await until('the device to drop the partial file', () => deviceBytes(f.fleet.instances[0]!) === 0);
    assert.equal(await f.pool.stat(f.fleet.instances[0]!.address, '/data/local/tmp/slow.bin', { timeoutMs: 10_000 }), null);
  }, SLOW);
});

test('a push past its task timeout is 1003', async () => {
  await withFixture(async (f) => {
    const task = await slowPush(f, 1_500);
    const [job] = await f.finish(task);
    assert.equal(job!.state, 'timed_out');
    assert.equal(job!.errorCode, 'KOOPHONE.JOB.1003');
    await until('the device to drop the partial file', () => deviceBytes(f.fleet.instances[0]!) === 0);
  }, SLOW);
});

test('the worker stopping mid-push interrupts the job (1006), never to run again', async () => {
  await withFixture(async (f) => {
    const task = await slowPush(f);
    await f.dispatcher.stop(100);
    const [job] = await f.finish(task);
    assert.equal(job!.errorCode, 'KOOPHONE.JOB.1006');
    await until('the device to drop the partial file', () => deviceBytes(f.fleet.instances[0]!) === 0);
  }, SLOW);
});

test('a pull past the artifact limit and a push the device has no room for are 1008; no file is kept', async () => {
  await withFixture(
    async (f) => {
      const artifact = await upload(f, randomBytes(3 * MiB));
      const [full] = await f.finish(await f.submitOp({ kind: 'push', artifact, path: '/data/local/tmp/full.bin', mode: 0o644 }, [f.ids[0]!]));
      assert.equal(full!.errorCode, 'KOOPHONE.JOB.1008');
      assert.equal(full!.errorMsg, "the file operation failed: push to /data/local/tmp/full.bin: write failed: No space left on device");
      const [fits] = await f.finish(await f.submitOp({ kind: 'push', artifact: await upload(f, randomBytes(MiB + 1)), path: '/sdcard/big.bin', mode: 0o644 }, [f.ids[0]!]));
      assert.equal(fits!.errorCode, '0', fits!.errorMsg);
      const pull = await f.submitOp({ kind: 'pull', path: '/sdcard/big.bin' }, [f.ids[0]!]);
      const [big] = await f.finish(pull);
      assert.equal(big!.errorCode, 'KOOPHONE.JOB.1008');
      assert.equal(big!.errorMsg, `the file operation failed: pull of /sdcard/big.bin: larger than the artifact limit of ${MiB} bytes`);
      assert.deepEqual(await f.store.getJobArtifact(f.tenantKey, pull.taskId, big!.jobId), { artifact: null });
      assert.deepEqual(await readdir(join(f.dir, 'artifacts', 'tmp')), []);
    },
    { count: 1, storageBytes: 2 * MiB, config: { artifactMaxBytes: MiB } },
  );
});
