// The tenant CLI as a user runs it: the real `adbfleet` process against a live service with a
// simulated fleet, stdout and stderr piped (so never a TTY: no bar, no escape codes).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { runCli, spawnCli, startServiceHarness, until, type CliResult, type JobJson, type ServiceHarness } from '../support/index.js';

let h: ServiceHarness;
let env: Record<string, string>;

before(async () => {
  h = await startServiceHarness({ instances: 4 });
  env = { ADBFLEET_URL: h.url, ADBFLEET_TOKEN: h.token };
});
after(() => h.close());

const cli = (...args: string[]): Promise<CliResult> => runCli(args, env);

/** Piped output carries no escape sequence or carriage return: it is text for files and pipes. */
function assertPlain(r: CliResult): void {
  for (const [name, text] of [['stdout', r.stdout], ['stderr', r.stderr]] as const) {
    assert.ok(!text.includes('\x1b') && !text.includes('\r'), `${name} has no escape codes: ${JSON.stringify(text)}`);
  }
}

async function apiJobs(taskId: string): Promise<JobJson[]> {
  const r = await h.call('GET', `/v1/instances/tasks/${taskId}`);
  assert.equal(r.status, 200);
  return r.body.data.jobs;
}

test('run --wait: every job succeeds, a table of the results, exit 0', async () => {
  const r = await cli('run', 'echo hello fleet', '--instances', 'e2e-0,e2e-1', '--wait');
  assert.equal(r.code, 0, r.stderr);
  assertPlain(r);
  const lines = r.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^INSTANCE\s+STATE\s+EXIT\s+OUTPUT$/);
  assert.match(lines[1]!, /^e2e-0\s+succeeded\s+0\s+hello fleet$/);
  assert.match(lines[2]!, /^e2e-1\s+succeeded\s+0\s+hello fleet$/);
  assert.match(lines[3]!, /^2 jobs: 2 succeeded \(task [0-9a-f]{32}\)$/);
  assert.equal(r.stderr, '', 'nothing on stderr when stderr is not a terminal');
});

test('run --wait: a failing command fails its job, exit 1', async () => {
  const r = await cli('run', 'false', '--instances', 'e2e-0', '--wait');
  assert.equal(r.code, 1, r.stderr);
  assertPlain(r);
  assert.match(r.stdout, /^e2e-0\s+failed\s+1\s*$/m);
  assert.match(r.stdout, /^1 job: 1 failed /m);
});

test('run --wait --json prints the jobs as the API gives them, and nothing else', async () => {
  const r = await cli('run', 'getprop ro.product.model', '--instances', 'e2e-1,e2e-2', '--wait', '--json', '--timeout', '30');
  assert.equal(r.code, 0, r.stderr);
  assertPlain(r);
  const out = JSON.parse(r.stdout) as { tasks: { task_id: string; jobs: JobJson[] }[] };
  assert.equal(out.tasks.length, 1);
  const [task] = out.tasks;
  assert.deepEqual(task!.jobs, await apiJobs(task!.task_id));
  assert.deepEqual(task!.jobs.map((j) => [j.instance_id, j.state]), [['e2e-1', 'succeeded'], ['e2e-2', 'succeeded']]);
});

test('run without --wait prints the task and job ids; task --watch follows it; task --json is the API', async () => {
  const r = await cli('run', 'sleep 1', '--instances', 'e2e-0,e2e-2');
  assert.equal(r.code, 0, r.stderr);
  assertPlain(r);
  const taskId = /^task ([0-9a-f]{32})$/m.exec(r.stdout)?.[1];
  assert.ok(taskId, r.stdout);
  const jobs = [...r.stdout.matchAll(/^(e2e-\d)\s+([0-9a-f]{32})$/gm)].map((m) => [m[1], m[2]]);
  assert.deepEqual(jobs.map(([i]) => i), ['e2e-0', 'e2e-2']);
  assert.match(r.stderr, new RegExp(`adbfleet task ${taskId} --watch`));

  const watched = await cli('task', taskId, '--watch');
  assert.equal(watched.code, 0, watched.stderr);
  assertPlain(watched);
  assert.match(watched.stdout, /^e2e-0\s+succeeded\s+0/m);
  assert.match(watched.stdout, /^e2e-2\s+succeeded\s+0/m);

  const json = await cli('task', taskId, '--json');
  assert.equal(json.code, 0, json.stderr);
  const api = await apiJobs(taskId);
  assert.deepEqual(JSON.parse(json.stdout), { jobs: api });
  assert.deepEqual(api.map((j) => [j.instance_id, j.job_id]), jobs);
});

test('run --json without --wait: the API answer of each task', async () => {
  const r = await cli('run', 'id', '--instances', 'e2e-1', '--json');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const out = JSON.parse(r.stdout) as { tasks: { task_id: string; cmd_jobs: { instance_id: string; job_id: string }[] }[] };
  assert.equal(out.tasks.length, 1);
  assert.deepEqual(out.tasks[0]!.cmd_jobs.map((j) => j.instance_id), ['e2e-1']);
  await h.waitTask(out.tasks[0]!.task_id);
});

test('tasks: one page, newest first, --json as the API, a cursor to the next page', async () => {
  for (const command of ['id', 'uname -a']) {
    const r = await h.call('POST', '/v1/instances/async-command', { command, instance_ids: ['e2e-0'] });
    await h.waitTask(r.body.data.task_id);
  }
  const json = await cli('tasks', '--json', '--limit', '3');
  assert.equal(json.code, 0, json.stderr);
  const api = await h.call('GET', '/v1/instances/tasks?limit=3');
  assert.deepEqual(JSON.parse(json.stdout), api.body.data);

  const text = await cli('tasks', '--limit', '1');
  assert.equal(text.code, 0, text.stderr);
  assertPlain(text);
  const lines = text.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^TASK\s+CREATED \(UTC\)\s+DONE\s+FAILED\s+COMMAND$/);
  const newest = api.body.data.tasks[0];
  assert.match(lines[1]!, new RegExp(`^${newest.task_id}  ${newest.created_at.slice(0, 10)} \\S+\\s+\\d+/\\d+\\s+\\d+\\s+\\S`));
  const cursor = /^more: adbfleet tasks --cursor (\S+)$/.exec(lines[2]!)?.[1];
  assert.ok(cursor, text.stdout);
  const next = JSON.parse((await cli('tasks', '--limit', '1', '--cursor', cursor, '--json')).stdout) as { tasks: { task_id: string }[] };
  assert.equal(next.tasks[0]!.task_id, api.body.data.tasks[1].task_id);
});

test('instances: every instance with its status and zone', async () => {
  const json = await cli('instances', '--json');
  assert.equal(json.code, 0, json.stderr);
  const api = await h.call('GET', '/v1/instances/batch-query?page_no=1&page_size=100');
  assert.deepEqual(JSON.parse(json.stdout), { instances: api.body.data.result });

  await until('every instance to be seen running', async () => {
    const r = await h.call('POST', '/v1/instances/batch-query-status', { instance_ids: h.ids });
    return (r.body.data.status_results as { status: number }[]).every((s) => s.status === 2);
  });
  const text = await cli('instances');
  assert.equal(text.code, 0, text.stderr);
  assertPlain(text);
  const lines = text.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^INSTANCE\s+STATUS\s+ZONE\s+NAME$/);
  assert.deepEqual(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 2)), h.ids.map((id) => [id, 'running']));
});

test('output: the raw stored output, by job id or by instance id, per stream', async () => {
  const run = JSON.parse((await cli('run', 'ls /nonexistent /system', '--instances', 'e2e-3', '--json')).stdout) as { tasks: { task_id: string; cmd_jobs: { job_id: string }[] }[] };
  const taskId = run.tasks[0]!.task_id;
  const jobId = run.tasks[0]!.cmd_jobs[0]!.job_id;
  await h.waitTask(taskId);
  const api = (await h.call('GET', `/v1/instances/tasks/${taskId}/jobs/${jobId}/output`)).body.data;
  assert.ok(api.stdout.length > 0 && api.stderr.length > 0, 'the command writes to both streams');

  const combined = await cli('output', taskId, jobId);
  assert.equal(combined.code, 0, combined.stderr);
  assert.equal(combined.stdout, api.combined);
  assert.equal((await cli('output', taskId, 'e2e-3', '--stream', 'stderr')).stdout, api.stderr);
  assert.equal((await cli('output', taskId, jobId, '--stream', 'stdout')).stdout, api.stdout);

  const wrong = await cli('output', taskId, 'e2e-0');
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, new RegExp(`e2e-0: task ${taskId} has no job`));
  const bad = await cli('output', taskId, jobId, '--stream', 'both');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--stream/);
});

test('Ctrl-C stops waiting (exit 130, says how to cancel); cancel stops the running sleep', async () => {
  const waiting = spawnCli(['run', 'sleep 60', '--instances', 'e2e-3', '--wait'], env);
  let taskId = '';
  await until('the sleep to run', async () => {
    const r = await h.call('GET', '/v1/instances/tasks?limit=1');
    const t = r.body.data.tasks[0] as { task_id: string; command: string; counts: { running: number } } | undefined;
    if (t?.command !== 'sleep 60' || t.counts.running !== 1) return false;
    taskId = t.task_id;
    return true;
  });
  waiting.proc.kill('SIGINT');
  const stopped = await waiting.done;
  assert.equal(stopped.code, 130, stopped.stderr);
  assert.match(stopped.stderr, new RegExp(`stopped waiting; the task keeps running \\(to stop: adbfleet cancel ${taskId}\\)`));
  assert.equal((await apiJobs(taskId))[0]!.state, 'running', 'the task was left running');

  const cancelled = await cli('cancel', taskId, '--json');
  assert.equal(cancelled.code, 0, cancelled.stderr);
  const jobs = (JSON.parse(cancelled.stdout) as { jobs: JobJson[] }).jobs;
  assert.deepEqual(jobs.map((j) => [j.instance_id, j.state, j.error_code]), [['e2e-3', 'cancelled', 'KOOPHONE.JOB.1004']]);
  const again = await cli('cancel', taskId);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /^e2e-3\s+cancelled\s+/m);
  assert.equal((await cli('task', taskId)).code, 1, 'a cancelled job did not succeed');
});

test('a refused request: exit 2 and one line naming what to fix', async () => {
  const badToken = await runCli(['tasks'], { ...env, ADBFLEET_TOKEN: 'afk_not-a-token' });
  assert.equal(badToken.code, 2);
  assert.match(badToken.stderr, /^adbfleet: the service at \S+ refused the token \(--token\/ADBFLEET_TOKEN\): HTTP 401 APIGW\.0301: .+\n$/);

  const noToken = await runCli(['instances'], { ...env, ADBFLEET_TOKEN: '' });
  assert.equal(noToken.code, 2);
  assert.equal(noToken.stderr, 'adbfleet: no tenant token: pass --token or set ADBFLEET_TOKEN\n');

  const foreign = await cli('run', 'id', '--instances', 'e2e-0,nobody-s');
  assert.equal(foreign.code, 2);
  assert.match(foreign.stderr, /^adbfleet: refused: HTTP 400 KOOPHONE\.API\.1001: .*nobody-s/);

  const unknownTask = await cli('task', '0'.repeat(32));
  assert.equal(unknownTask.code, 2);
  assert.match(unknownTask.stderr, /task_id 0{32} does not exist/);
});

async function newestTask(): Promise<string | undefined> {
  return (await h.call('GET', '/v1/instances/tasks?limit=1')).body.data.tasks[0]?.task_id;
}

test('a repeated instance is refused before anything is submitted, within a hundred or across hundreds', async () => {
  const before = await newestTask();
  // The second e2e-0 falls in the second request of 100, where the API cannot see the first.
  const across = ['e2e-0', ...Array.from({ length: 100 }, (_, i) => `spare-${i}`), 'e2e-0'];
  for (const [args, message] of [
    [['run', 'echo x', '--instances', across.join(',')], '--instances[101]: duplicate of --instances[0] (e2e-0)'],
    [['run', 'echo x', '--instances', 'e2e-0,e2e-1,e2e-1', '--wait'], '--instances[2]: duplicate of --instances[1] (e2e-1)'],
    [['screenshot', '--instances', 'e2e-1,e2e-2', '--instances', 'e2e-1'], '--instances[2]: duplicate of --instances[0] (e2e-1)'],
  ] as const) {
    const r = await cli(...args);
    assert.deepEqual([r.code, r.stdout, r.stderr], [2, '', `adbfleet: ${message}\n`], args.join(' '));
  }
  assert.equal(await newestTask(), before, 'no task was submitted');
});

test('--instances given twice: the lists are joined', async () => {
  const r = await cli('run', 'echo twice', '--instances', 'e2e-0', '--instances', 'e2e-2,e2e-3', '--wait', '--json');
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { tasks: { jobs: JobJson[] }[] };
  assert.deepEqual(out.tasks.flatMap((t) => t.jobs.map((j) => j.instance_id)), ['e2e-0', 'e2e-2', 'e2e-3']);
});

test('usage errors exit 2 before any request', async () => {
  for (const args of [
    ['run', 'id'],
    ['run', 'id', '--instances', 'e2e-0', '--all'],
    ['run', 'id', '--instances', 'e2e-0,,e2e-1'],
    ['run', 'id', '--instances', 'e2e-0', '--timeout', '0'],
    ['tasks', '--limit', '101'],
    ['task'],
  ]) {
    const r = await cli(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.notEqual(r.stderr, '', args.join(' '));
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
});

test('an unreachable service: exit 2, naming the URL and the setting', async () => {
  // A port that was just free and is closed again: nothing listens there.
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  const url = `http://127.0.0.1:${port}`;
  const r = await runCli(['run', 'id', '--instances', 'e2e-0', '--wait'], { ...env, ADBFLEET_URL: url });
  assert.equal(r.code, 2);
  assert.equal(r.stderr.split('\n').length, 2, 'one line');
  assert.match(r.stderr, new RegExp(`^adbfleet: cannot reach the service at ${url} \\(--url/ADBFLEET_URL\\): `));

  // A port Node's fetch will not connect to at all: said so, not undici's bare "bad port".
  const unsafe = await runCli(['tasks'], { ...env, ADBFLEET_URL: 'http://127.0.0.1:6000' });
  assert.deepEqual(
    [unsafe.code, unsafe.stderr],
    [2, "adbfleet: cannot reach the service at http://127.0.0.1:6000 (--url/ADBFLEET_URL): port 6000 is one Node's fetch refuses (unsafe port); use another port\n"],
  );
});

test('an answer that is not the service\'s (a proxy\'s 502 page): one line quoting its start, exit 2', async () => {
  const page = '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';
  let status = 502;
  const proxy = createHttpServer((_req, res) => res.writeHead(status, { 'content-type': 'text/html' }).end(page)).listen(0, '127.0.0.1');
  await new Promise((r) => proxy.once('listening', r));
  const url = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
  try {
    const quoted = '<html> <head><title>502 Bad Gateway</title></head> <body> <center><h1>502 Bad Gateway</h1></center>…';
    const r = await runCli(['tasks'], { ...env, ADBFLEET_URL: url });
    assert.deepEqual([r.code, r.stdout, r.stderr], [2, '', `adbfleet: HTTP 502 from GET /v1/instances/tasks: not an adbfleet answer (${quoted})\n`]);
    // A web page where the service should be: the same line, for a 200.
    status = 200;
    const ok = await runCli(['run', 'id', '--instances', 'e2e-0'], { ...env, ADBFLEET_URL: url });
    assert.deepEqual([ok.code, ok.stderr], [2, `adbfleet: HTTP 200 from POST /v1/instances/async-command: not an adbfleet answer (${quoted})\n`]);
  } finally {
    await new Promise((r) => proxy.close(r));
  }
});
