// The tenant CLI as installed: bin/adbfleet.js running the compiled dist/ (CI builds it in
// `npm ci`), against a live service. Also what a pipe whose reader stops early does to it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { COMPILED_ENTRY, compiledCliProblem, runCli, spawnCli, startServiceHarness, type CliResult, type JobJson, type ServiceHarness } from '../support/index.js';

let h: ServiceHarness;
let env: Record<string, string>;

before(async () => {
  const problem = compiledCliProblem();
  if (problem !== null) throw new Error(problem);
  h = await startServiceHarness({ instances: 2 });
  env = { ADBFLEET_URL: h.url, ADBFLEET_TOKEN: h.token };
});
after(() => h?.close());

const cli = (...args: string[]): Promise<CliResult> => runCli(args, env, COMPILED_ENTRY);

test('bin/adbfleet.js: run --wait --json, the jobs as the API gives them; a failing job exits 1', async () => {
  const r = await cli('run', 'getprop ro.product.model', '--instances', h.ids.join(','), '--wait', '--json');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const { tasks } = JSON.parse(r.stdout) as { tasks: { task_id: string; jobs: JobJson[] }[] };
  assert.equal(tasks.length, 1);
  assert.deepEqual(tasks[0]!.jobs, (await h.call('GET', `/v1/instances/tasks/${tasks[0]!.task_id}`)).body.data.jobs);

  const failed = await cli('run', 'false', '--instances', h.ids[0]!, '--wait');
  assert.equal(failed.code, 1, failed.stderr);
  assert.match(failed.stdout, new RegExp(`^${h.ids[0]}\\s+failed\\s+1\\s*$`, 'm'));
});

test('a reader that closes the pipe early: exit 141 as for SIGPIPE, no stack trace', async () => {
  const run = JSON.parse((await cli('run', 'seq 1 200000', '--instances', h.ids[1]!, '--json')).stdout) as { tasks: { task_id: string }[] };
  const taskId = run.tasks[0]!.task_id;
  await h.waitTask(taskId);
  // Far more than a pipe holds (64 KiB): the CLI is still writing when its reader goes away.
  const reading = spawnCli(['output', taskId, h.ids[1]!, '--stream', 'stdout'], env, COMPILED_ENTRY);
  reading.proc.stdout!.once('data', () => reading.proc.stdout!.destroy());
  const r = await reading.done;
  assert.equal(r.code, 141, r.stderr);
  assert.doesNotMatch(r.stderr, /\n\s+at |EPIPE/, 'no stack trace');
});
