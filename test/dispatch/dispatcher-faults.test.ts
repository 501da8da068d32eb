// A broken instance fails only its own jobs, each with its code; the worker keeps going.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture } from './setup.js';

const unhandled: unknown[] = [];
process.on('unhandledRejection', (reason) => unhandled.push(reason));

test('an offline instance: its queued jobs fail 1002 after the retry window without ever running', async () => {
  const f = await fixture({ count: 2, config: { retryWindowMs: 1_000 } });
  try {
    f.fleet.instances[0]!.setFault({ kind: 'offline', ms: 600_000 });
    const task = await f.submit('echo hi', [f.ids[0]!, f.ids[1]!]);
    const second = await f.submit('echo again', [f.ids[0]!]);
    const jobs = await f.finish(task);
    assert.equal(jobs[0]!.state, 'failed');
    assert.equal(jobs[0]!.errorCode, 'KOOPHONE.JOB.1002');
    assert.equal(jobs[0]!.startedAt, null);
    assert.equal(jobs[1]!.state, 'succeeded');
    const [again] = await f.finish(second);
    assert.equal(again!.errorCode, 'KOOPHONE.JOB.1002');
    assert.equal(f.fleet.instances[0]!.journal().length, 0);
    // Only the final event, no running one: the job never started.
    assert.deepEqual(
      f.events.get(jobs[0]!.jobKey)?.map((e) => e.state),
      ['failed'],
    );
  } finally {
    await f.close();
  }
});

test('an instance that comes back within the retry window runs its jobs', async () => {
  const f = await fixture({ count: 1, config: { retryWindowMs: 20_000 } });
  try {
    f.fleet.instances[0]!.setFault({ kind: 'offline', ms: 700 });
    const [job] = await f.run('echo back', [f.ids[0]!]);
    assert.equal(job!.state, 'succeeded');
    assert.equal(job!.executeMsg, 'back\n');
  } finally {
    await f.close();
  }
});

test('a connection dropped mid-command fails the job 1005', async () => {
  const f = await fixture({ count: 2 });
  try {
    await f.run('echo warm', [f.ids[0]!]);
    f.fleet.instances[0]!.setFault({ kind: 'drop', afterBytes: 2_000 });
    const [job, other] = await f.run('seq 1 100000', [f.ids[0]!, f.ids[1]!]);
    assert.equal(job!.state, 'failed');
    assert.equal(job!.errorCode, 'KOOPHONE.JOB.1005');
    assert.equal(other!.state, 'succeeded');
    assert.equal(other!.outputBytes, 588_895);
  } finally {
    await f.close();
  }
});

test('an instance refusing our key fails its queued jobs 1007', async () => {
  const f = await fixture({ count: 2 });
  try {
    f.fleet.instances[0]!.setFault({ kind: 'auth-reject' });
    const [job, other] = await f.run('echo hi', [f.ids[0]!, f.ids[1]!]);
    assert.equal(job!.state, 'failed');
    assert.equal(job!.errorCode, 'KOOPHONE.JOB.1007');
    assert.equal(job!.startedAt, null);
    assert.equal(other!.state, 'succeeded');
  } finally {
    await f.close();
  }
});

test('hanging, garbage-speaking and slow instances fail only their own jobs; no unhandled rejection', async () => {
  const f = await fixture({ count: 4 });
  try {
    await f.run('echo warm', f.ids); // connections up, so the faults hit the commands
    const [hang, garbage, slow] = f.fleet.instances;
    hang!.setFault({ kind: 'hang' });
    garbage!.setFault({ kind: 'garbage' });
    slow!.setFault({ kind: 'latency', ms: 100 });
    const jobs = await f.run('echo x', f.ids, 3_000);
    // Its OPEN is never answered: not started, so unreachable (the job's 3 s ran out first).
    assert.equal(jobs[0]!.errorCode, 'KOOPHONE.JOB.1002');
    assert.equal(jobs[0]!.state, 'failed');
    assert.equal(jobs[1]!.errorCode, 'KOOPHONE.JOB.1005');
    assert.equal(jobs[2]!.errorCode, '0');
    assert.equal(jobs[3]!.errorCode, '0');
    // The worker goes on: healthy instances (and the slow one) keep running jobs.
    const later = await f.run('echo y', [f.ids[2]!, f.ids[3]!]);
    assert.deepEqual(
      later.map((j) => j.executeMsg),
      ['y\n', 'y\n'],
    );
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(unhandled, []);
  } finally {
    await f.close();
  }
});

test('a device that breaks shell v2 fails its job 1005 at once, error_msg naming the violation; its next job runs on the same connection', async () => {
  const f = await fixture({ count: 1 });
  try {
    await f.run('echo warm', f.ids);
    const inst = f.fleet.instances[0]!;
    inst.setFault({ kind: 'bad-shell-packet', id: 9, length: 2 ** 31 });
    const [job] = await f.run('echo x', f.ids, 60_000);
    assert.equal(job!.errorCode, 'KOOPHONE.JOB.1005');
    assert.equal(job!.errorMsg, 'the ADB connection broke while the command ran: the device broke the ADB protocol: shell v2: packet id 9 is not one the sender may use (1, 2, 3)');
    assert.ok(job!.finishedAt! - job!.startedAt! < 2_000, `ended at once, not at its 60 s timeout: ${job!.finishedAt! - job!.startedAt!} ms`);
    inst.setFault(null);
    const [next] = await f.run('echo after', f.ids);
    assert.equal(next!.executeMsg, 'after\n');
    assert.deepEqual(new Set(inst.journal().map((e) => e.connectionId)), new Set([1]));
  } finally {
    await f.close();
  }
});

test('a device that never answers OPEN fails each queued job 1002 at the open timeout, never its own 60 s; nothing runs', async () => {
  const f = await fixture({ count: 1, config: { adbOpenTimeoutMs: 400 } });
  try {
    await f.run('echo warm', f.ids);
    const inst = f.fleet.instances[0]!;
    inst.setFault({ kind: 'hang' });
    const started = Date.now();
    const tasks = [await f.submit('echo 1', f.ids, 60_000), await f.submit('echo 2', f.ids, 60_000), await f.submit('echo 3', f.ids, 60_000)];
    const jobs = (await Promise.all(tasks.map((t) => f.finish(t)))).flat();
    const took = Date.now() - started;
    assert.deepEqual(jobs.map((j) => [j.state, j.errorCode, j.exitCode]), Array(3).fill(['failed', 'KOOPHONE.JOB.1002', null]));
    assert.ok(took >= 3 * 400 - 50 && took < 3 * 400 + 2_000, `one open timeout each, in turn: ${took} ms`);
    assert.deepEqual(inst.journal().map((e) => e.command), ['echo warm'], 'nothing else reached the shell');
  } finally {
    await f.close();
  }
});
