// GET /metrics on the whole service (real HTTP, the worker, a simulated fleet): after a run of
// jobs that succeed, fail and are cancelled, the exposition parses strictly and its values are
// what ran. The admin token guards it unless ADBFLEET_METRICS_PUBLIC opens it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { parseExposition, request, startServiceHarness, until, type Exposition, type ServiceHarness } from '../support/index.js';

let h: ServiceHarness;
const ASYNC = '/v1/instances/async-command';

before(async () => {
  h = await startServiceHarness({ instances: 3 });
});
after(async () => {
  await h.close();
});

async function scrape(headers: Record<string, string> = { authorization: `Bearer ${h.adminToken}` }, url = h.url) {
  return request(url, 'GET', '/metrics', undefined, headers);
}

async function metrics(): Promise<Exposition> {
  const res = await scrape();
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return parseExposition(res.body as string);
}

async function submit(command: string, ids: string[], requestId: string = randomUUID()): Promise<string> {
  const res = await h.call('POST', ASYNC, { command, instance_ids: ids }, { 'x-request-id': requestId });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.data.task_id as string;
}

test('after a run the metrics say what ran: jobs by state and code, submissions, latencies, instances, requests, commits', async () => {
  // Every instance checked first, so instances by status counts the whole fleet as running.
  await until('every instance to be running', async () => (await metrics()).value('adbfleet_instances', { name: 'running' }) === 3);

  const okId = randomUUID();
  const ok = await submit('echo hi', [h.ids[0]!, h.ids[1]!], okId);
  const failing = await submit('false', [h.ids[2]!]);
  assert.equal(await submit('echo hi', [h.ids[0]!, h.ids[1]!], okId), ok, 'an idempotent replay: no second task');
  await h.waitTask(ok);
  await h.waitTask(failing);
  // One instance runs one job at a time: the second task waits queued behind the first.
  const sleeping = await submit('sleep 30', [h.ids[0]!]);
  const queued = await submit('echo never', [h.ids[0]!]);
  await until('sleep 30 to run', async () => (await h.call('GET', `/v1/instances/tasks/${sleeping}`)).body.data.jobs[0].state === 'running');
  for (const task of [queued, sleeping]) {
    const res = await h.call('POST', `/v1/instances/tasks/${task}/cancel`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
  }
  const cancelled = [...(await h.waitTask(queued)), ...(await h.waitTask(sleeping))];
  assert.deepEqual(cancelled.map((j) => j.error_code), ['KOOPHONE.JOB.1004', 'KOOPHONE.JOB.1004']);
  assert.equal((await request(h.url, 'GET', '/no/such/route/0123456789abcdef', undefined, {})).status, 404);

  const m = await metrics();
  const finished = (state: string, code: string): number => m.value('adbfleet_jobs_finished_total', { state, code });
  assert.equal(finished('succeeded', '0'), 2);
  assert.equal(finished('failed', 'KOOPHONE.JOB.1001'), 1);
  assert.equal(finished('cancelled', 'KOOPHONE.JOB.1004'), 2, 'the queued job (cancelled by the store) and the running one (stopped by the worker)');
  assert.equal(finished('failed', 'KOOPHONE.JOB.1002'), 0, 'every code is shown, at 0 until it happens');
  assert.equal(m.find('adbfleet_jobs_finished_total').reduce((n, s) => n + s.value, 0), 5);

  assert.deepEqual(
    m.find('adbfleet_task_submissions_total').map((s) => [s.labels, s.value]),
    [[{ route: ASYNC, tenant: h.tenantId }, 4]],
    'four tasks accepted; the replay is not one',
  );

  // Jobs that ran: the two echoes, false, and the sleep (the queued echo never started).
  for (const name of ['adbfleet_dispatch_latency_seconds', 'adbfleet_job_run_seconds']) {
    assert.equal(m.families.get(name)?.type, 'histogram');
    assert.equal(m.value(`${name}_count`), 4, name);
    assert.equal(m.value(`${name}_bucket`, { le: '+Inf' }), 4, name);
    const buckets = m.find(`${name}_bucket`).map((s) => s.value);
    assert.deepEqual(buckets, [...buckets].sort((a, b) => a - b), `${name}'s buckets are cumulative`);
  }
  assert.ok(m.value('adbfleet_job_run_seconds_sum') > 0);

  assert.equal(m.value('adbfleet_instances', { status: '2', name: 'running' }), 3);
  assert.equal(m.find('adbfleet_instances').reduce((n, s) => n + s.value, 0), 3, 'every instance counted once');
  assert.equal(m.value('adbfleet_adb_connections'), 3);
  assert.equal(m.value('adbfleet_adb_streams'), 0, 'nothing runs now');
  assert.equal(m.value('adbfleet_adb_reconnects_total'), 0);
  assert.equal(m.value('adbfleet_worker_jobs_active'), 0);

  const http = (route: string, method: string, status: string): number => m.value('adbfleet_http_requests_total', { route, method, status });
  assert.equal(http(ASYNC, 'POST', '200'), 5, 'four submits and the replay');
  assert.ok(http('/v1/instances/tasks/:task_id', 'GET', '200') >= 5, 'task reads counted under their route pattern');
  assert.equal(http('/v1/instances/tasks/:task_id/cancel', 'POST', '200'), 2);
  assert.equal(http('unmatched', 'GET', '404'), 1);
  for (const s of m.find('adbfleet_http_requests_total')) {
    assert.ok(!/[0-9a-f]{32}/.test(s.labels['route']!), `a route pattern, not a raw URL: ${s.labels['route']}`);
  }

  assert.ok(m.value('adbfleet_store_commit_seconds_count') > 0);
  assert.ok(m.value('adbfleet_store_commit_rows_sum') >= 4 + 4, 'at least the four jobs marked running and their results');
  assert.ok(m.find('process_cpu_user_seconds_total').length === 1, "prom-client's process metrics");
});

test('/metrics answers Prometheus text without an x-request-id, and 401 in the envelope without the admin token', async () => {
  const res = await scrape();
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  for (const headers of [{}, { authorization: 'Bearer wrong' }, { 'x-auth-token': h.token }]) {
    const refused = await scrape(headers);
    assert.equal(refused.status, 401, JSON.stringify(headers));
    assert.equal(refused.body.error_code, 'APIGW.0301');
    assert.match(refused.body.error_msg, /admin bearer token/);
  }
});

test('ADBFLEET_METRICS_PUBLIC=true serves /metrics without a token', async () => {
  const open = await startServiceHarness({ instances: 1, config: { metricsPublic: true } });
  try {
    const res = await scrape({}, open.url);
    assert.equal(res.status, 200);
    assert.ok(parseExposition(res.body as string).families.has('adbfleet_jobs_finished_total'));
  } finally {
    await open.close();
  }
});

test('the exposition reader refuses what a scraper would', () => {
  const good = '# HELP a_total A.\n# TYPE a_total counter\na_total{x="q\\"uote"} 1\n';
  assert.equal(parseExposition(good).value('a_total', { x: 'q"uote' }), 1);
  for (const bad of [
    'a_total 1\n', // no TYPE before it
    '# TYPE a_total counter\na_total{x=1} 1\n', // unquoted label value
    '# TYPE a_total counter\na_total one\n', // not a number
    '# TYPE a_total counter\n# TYPE a_total counter\n', // TYPE twice
    '# TYPE a_total countr\n', // no such type
    '# TYPE h histogram\nh_total 1\n', // not a histogram's sample
  ]) {
    assert.throws(() => parseExposition(bad), /line \d/, bad);
  }
});
