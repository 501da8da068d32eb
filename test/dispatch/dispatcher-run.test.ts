// Jobs run on the simulator through the real pool and land in the real store with SPEC §4's codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture, type Fixture } from './setup.js';

async function withFixture(fn: (f: Fixture) => Promise<void>, opts: Parameters<typeof fixture>[0] = {}): Promise<void> {
  const f = await fixture(opts);
  try {
    await fn(f);
  } finally {
    await f.close();
  }
}

/** Bytes `seq 1 n` prints. */
function seqBytes(n: number): number {
  let total = 0;
  for (let i = 1; i <= n; i++) total += String(i).length + 1;
  return total;
}

test('jobs store exit codes, stdout, stderr and execute_msg', async () => {
  await withFixture(async (f) => {
    const [ok] = await f.run('echo hello world', [f.ids[0]!]);
    assert.equal(ok!.state, 'succeeded');
    assert.equal(ok!.errorCode, '0');
    assert.equal(ok!.errorMsg, 'ok');
    assert.equal(ok!.exitCode, 0);
    assert.equal(ok!.executeMsg, 'hello world\n');
    assert.equal(ok!.outputBytes, 12);
    assert.equal(ok!.outputTruncated, false);
    assert.ok(ok!.startedAt !== null && ok!.finishedAt !== null && ok!.finishedAt >= ok!.startedAt);

    const [bad] = await f.run('exit 3', [f.ids[1]!]);
    assert.equal(bad!.state, 'failed');
    assert.equal(bad!.errorCode, 'KOOPHONE.JOB.1001');
    assert.equal(bad!.errorMsg, 'exit status 3');
    assert.equal(bad!.exitCode, 3);
  });
});

test('an unknown command fails 1001 with exit status 127 and its stderr is stored', async () => {
  await withFixture(async (f) => {
    const task = await f.submit('nosuchcommand --flag', [f.ids[0]!]);
    const [job] = await f.finish(task);
    assert.equal(job!.state, 'failed');
    assert.equal(job!.errorCode, 'KOOPHONE.JOB.1001');
    assert.equal(job!.errorMsg, 'exit status 127');
    assert.equal(job!.exitCode, 127);
    assert.match(job!.executeMsg, /nosuchcommand/);
    const out = await f.store.getJobOutput(f.tenantKey, task.taskId, job!.jobId);
    assert.ok(out);
    assert.equal(out.stdout.length, 0);
    assert.match(out.stderr.toString(), /nosuchcommand/);
    assert.ok(out.combined.equals(out.stderr));
  });
});

test('execute_msg is cut at 1024 bytes on a UTF-8 boundary', async () => {
  await withFixture(async (f) => {
    // 'a' and 600 two-byte characters: byte 1024 falls inside a character.
    const [job] = await f.run(`echo a${'é'.repeat(600)}`, [f.ids[0]!]);
    assert.equal(job!.state, 'succeeded');
    assert.equal(job!.executeMsg, 'a' + 'é'.repeat(511));
    assert.equal(job!.outputBytes, 1 + 1200 + 1);
  });
});

test('2 MB of output: stored output capped at 1 MiB, output_bytes counts everything', async () => {
  await withFixture(async (f) => {
    const n = 300_000;
    const task = await f.submit(`seq 1 ${n}`, [f.ids[0]!]);
    const [job] = await f.finish(task);
    assert.equal(job!.state, 'succeeded');
    assert.equal(job!.outputBytes, seqBytes(n));
    assert.ok(job!.outputBytes > 1.9e6);
    assert.equal(job!.outputTruncated, true);
    assert.equal(job!.executeMsg, Buffer.from(Array.from({ length: 2000 }, (_, i) => `${i + 1}\n`).join('')).subarray(0, 1024).toString());
    const out = await f.store.getJobOutput(f.tenantKey, task.taskId, job!.jobId);
    assert.ok(out);
    assert.equal(out.combined.length, 1024 * 1024);
    assert.equal(out.outputTruncated, true);
  });
});

test('a command running past its timeout ends timed_out 1003 and the remote shell is closed', async () => {
  await withFixture(async (f) => {
    const [job] = await f.run('sleep 30', [f.ids[0]!], 500);
    assert.equal(job!.state, 'timed_out');
    assert.equal(job!.errorCode, 'KOOPHONE.JOB.1003');
    assert.equal(job!.exitCode, null);
    const entry = f.fleet.instances[0]!.journal().find((e) => e.command === 'sleep 30');
    assert.ok(entry);
    assert.notEqual(entry.end, 'exit');
    assert.notEqual(entry.end, 'running');
    // The instance is free again: the next job runs.
    const [next] = await f.run('echo after', [f.ids[0]!]);
    assert.equal(next!.executeMsg, 'after\n');
  });
});

test('a shell v1 device (no exit status) counts a completed command as succeeded with exit_code null', async () => {
  await withFixture(
    async (f) => {
      const [job] = await f.run('echo v1', [f.ids[0]!]);
      assert.equal(job!.state, 'succeeded');
      assert.equal(job!.errorCode, '0');
      assert.equal(job!.exitCode, null);
      assert.equal(job!.executeMsg, 'v1\n');
    },
    { count: 1, features: [] },
  );
});
