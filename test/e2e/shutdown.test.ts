// Stopping the service (what SIGTERM does) with a sync-command in flight: the running job gets
// the grace period, is then ended and stored as interrupted (1006), and the waiting client is
// answered with that, rather than holding the shutdown until its command ends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServiceHarness, until } from '../support/index.js';

test('shutdown with a sync-command in flight: the job ends 1006 after the grace, the client gets its answer', async () => {
  const h = await startServiceHarness({ instances: 1 });
  try {
    const pending = h.call('POST', '/v1/instances/sync-command', { command: 'sleep 40', instance_ids: [h.ids[0]!], timeout_seconds: 60 });
    const sim = h.fleet.instances[0]!;
    await until('the command to start', () => sim.journal().some((e) => e.command === 'sleep 40'), 10_000, 25);
    await h.service.close();
    const res = await pending;
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [r] = res.body.data.cmd_results;
    assert.equal(r.error_code, 'KOOPHONE.JOB.1006');
    assert.equal(r.state, 'failed');
    assert.equal(sim.journal().find((e) => e.command === 'sleep 40')?.end, 'closed', 'the device hung up the shell');
  } finally {
    await h.close();
  }
});
