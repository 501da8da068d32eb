// A service that goes away while the CLI waits: the wait ends with exit 2, saying the service
// cannot be reached and that the task keeps running, instead of hanging or a stack trace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnCli, startServiceHarness, until } from '../support/index.js';

test('run --wait: the service stops mid-wait, exit 2 naming the URL and how to follow the task', async () => {
  const h = await startServiceHarness({ instances: 1, config: { shutdownGraceMs: 0 } });
  let closed = false;
  try {
    const waiting = spawnCli(['run', 'sleep 60', '--instances', h.ids[0]!, '--wait'], { ADBFLEET_URL: h.url, ADBFLEET_TOKEN: h.token });
    let taskId = '';
    await until('the sleep to run', async () => {
      const t = (await h.call('GET', '/v1/instances/tasks?limit=1')).body.data.tasks[0] as { task_id: string; counts: { running: number } } | undefined;
      taskId = t?.task_id ?? '';
      return t?.counts.running === 1;
    });
    await h.close();
    closed = true;
    const r = await waiting.done;
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`^adbfleet: cannot reach the service at ${h.url} \\(--url/ADBFLEET_URL\\): .+; stopped waiting, the task keeps running \\(to follow: adbfleet task ${taskId} --watch\\)\\n$`),
    );
  } finally {
    if (!closed) await h.close();
  }
});
