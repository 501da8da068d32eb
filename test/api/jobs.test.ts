// What sync-command answers when commands really run: the API on the real dispatcher, health
// monitor and ADB pool against the simulated fleet. How commands run (exit codes, timeouts,
// output, cancel, reboot) is test/e2e's subject.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { type LiveApi, startLiveApi } from '../support/index.js';

let live: LiveApi;

before(async () => {
  live = await startLiveApi({ count: 3 });
});
after(async () => {
  await live?.close();
});

test('sync-command answers with every result', async () => {
  const res = await live.call(live.token, 'POST', '/v1/instances/sync-command', { command: 'echo sync', instance_ids: live.ids.slice(0, 2) });
  assert.equal(res.statusCode, 200, res.body);
  const results = res.json().data.cmd_results;
  assert.deepEqual(results.map((r: { instance_id: string }) => r.instance_id), live.ids.slice(0, 2));
  for (const r of results) {
    assert.equal(r.status, 2);
    assert.equal(r.error_code, '0');
    assert.equal(r.execute_msg, 'sync\n');
    assert.equal(r.exit_code, 0);
    assert.equal(r.state, 'succeeded');
    assert.match(r.job_id, /^[0-9a-f]{32}$/);
    // "Per-instance fields as in §4": every field of a job.
    assert.deepEqual(Object.keys(r).sort(), [
      'created_at', 'error_code', 'error_msg', 'execute_msg', 'exit_code', 'finished_at', 'instance_id',
      'job_id', 'output_bytes', 'output_truncated', 'started_at', 'state', 'status',
    ]);
    assert.equal(r.output_bytes, 5);
    assert.equal(r.output_truncated, false);
  }
});

test('sync-command past its timeout reports timed_out jobs', async () => {
  const res = await live.call(live.token, 'POST', '/v1/instances/sync-command', { command: 'sleep 30', instance_ids: [live.ids[2]], timeout_seconds: 1 });
  assert.equal(res.statusCode, 200, res.body);
  const [r] = res.json().data.cmd_results;
  assert.equal(r.state, 'timed_out');
  assert.equal(r.error_code, 'KOOPHONE.JOB.1003');
  assert.equal(r.status, -1);
});
