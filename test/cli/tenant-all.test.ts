// `adbfleet run --all` on a tenant of more instances than one request may name (100): the CLI
// submits several tasks and waits on them together; `instances` reads every page.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli, startServiceHarness, type JobJson, type ServiceHarness } from '../support/index.js';

const COUNT = 130;
let h: ServiceHarness;
let env: Record<string, string>;

before(async () => {
  h = await startServiceHarness({ instances: COUNT });
  env = { ADBFLEET_URL: h.url, ADBFLEET_TOKEN: h.token };
});
after(() => h.close());

test('run --all --wait: tasks of at most 100 instances, all followed, every instance once', async () => {
  const r = await runCli(['run', 'getprop ro.serialno', '--all', '--wait', '--json'], env);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const { tasks } = JSON.parse(r.stdout) as { tasks: { task_id: string; jobs: JobJson[] }[] };
  assert.deepEqual(tasks.map((t) => t.jobs.length), [100, COUNT - 100]);
  const jobs = tasks.flatMap((t) => t.jobs);
  assert.deepEqual(jobs.map((j) => j.instance_id).sort(), [...h.ids].sort());
  assert.ok(jobs.every((j) => j.state === 'succeeded'), JSON.stringify(jobs.filter((j) => j.state !== 'succeeded')));
  for (const t of tasks) {
    const api = await h.call('GET', `/v1/instances/tasks/${t.task_id}`);
    assert.deepEqual(t.jobs, api.body.data.jobs);
  }

  const text = await runCli(['run', 'id', '--all', '--wait'], env);
  assert.equal(text.code, 0, text.stderr);
  const lines = text.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 1 + COUNT + 1, 'a header, a row per instance, a summary');
  assert.match(lines.at(-1)!, new RegExp(`^${COUNT} jobs: ${COUNT} succeeded \\(task [0-9a-f]{32}, [0-9a-f]{32}\\)$`));
});

test('instances lists every page', async () => {
  const r = await runCli(['instances', '--json'], env);
  assert.equal(r.code, 0, r.stderr);
  const { instances } = JSON.parse(r.stdout) as { instances: { instance_id: string }[] };
  assert.deepEqual(instances.map((i) => i.instance_id).sort(), [...h.ids].sort());
});
