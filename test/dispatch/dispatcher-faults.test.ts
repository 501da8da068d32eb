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
    assert.equal(jobs[0]!.errorCode, 'KOOPHONE.JOB.1003');
    assert.equal(jobs[0]!.state, 'timed_out');
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
