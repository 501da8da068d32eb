// SPEC §10 through the real API and store: every request rule of the device operations (each a
// 400 naming its field that creates nothing), ownership, the tasks they make (ZGCA ids for
// installs, the op the worker will read), KooPhone's 1323 for an unknown install task, the task
// routes on ZGCA ids, uploaded artifacts in push and install, and tenant isolation. Installing
// from a URL: operations-install.test.ts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { INSTALL_TASK_PREFIX, type TaskOp } from '../../src/core/index.js';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { aaptSkip, type ApiHarness, buildApk, envelope, overrideStore, startApiHarness } from '../support/index.js';
import { tenantKeyOfToken } from '../support/tenants.js';
import { createTestStore } from '../support/test-store.js';

let h: ApiHarness;
let tokenA: string;
let tokenB: string;
const MANY = Array.from({ length: 100 }, (_, i) => `m${i}`);
const ZGCA = /^ZGCA[0-9a-f]{28}$/;
const HEX32 = /^[0-9a-f]{32}$/;

before(async () => {
  h = await startApiHarness({ config: { urlAllowlist: ['127.0.0.1'] } });
  const a = await h.tenant('alpha');
  const b = await h.tenant('beta');
  tokenA = a.token;
  tokenB = b.token;
  for (const id of ['a1', 'a2', ...MANY]) await h.instance(id, a.tenantId);
  await h.instance('b1', b.tenantId);
});
after(() => h.close());

/** An upload through POST /v1/artifacts: the tenant's artifact id. */
async function upload(token: string, bytes: Buffer): Promise<string> {
  const res = await h.call(token, 'POST', '/v1/artifacts', bytes, { 'content-type': 'application/octet-stream' });
  assert.equal(res.statusCode, 200, res.body);
  return res.json<{ data: { artifact_id: string } }>().data.artifact_id;
}

const ROUTES = {
  install: '/v1/instances/app/install',
  uninstall: '/v1/instances/app/uninstall',
  push: '/v1/instances/files/push',
  pull: '/v1/instances/files/pull',
  screenshot: '/v1/instances/screenshot',
} as const;

const URL_OK = 'http://127.0.0.1:9/app.apk';
const ARTIFACT = 'f'.repeat(32);
const LONG_PATH = `/${'d'.repeat(1024)}`;

type Case = { name: string; body: Record<string, unknown>; field: string };
const valid = {
  install: { install_package_url: URL_OK, instance_id_list: ['a1'] },
  uninstall: { package_name: 'com.example.app', instance_ids: ['a1'] },
  push: { artifact_id: ARTIFACT, path: '/sdcard/x.txt', instance_ids: ['a1'] },
  pull: { path: '/sdcard/x.txt', instance_ids: ['a1'] },
  screenshot: { instance_ids: ['a1'] },
};

/** The instance list rules, for a route whose list is `key`. */
function listCases(base: Record<string, unknown>, key: string): Case[] {
  const without = { ...base };
  delete without[key];
  return [
    { name: `${key} missing`, body: without, field: key },
    { name: `${key} a string`, body: { ...base, [key]: 'a1' }, field: key },
    { name: `${key} empty`, body: { ...base, [key]: [] }, field: key },
    { name: `${key} 101 ids`, body: { ...base, [key]: [...MANY, 'a1'] }, field: key },
    { name: `${key} duplicate`, body: { ...base, [key]: ['a1', 'a2', 'a1'] }, field: `${key}[2]` },
    { name: `${key} item with a space`, body: { ...base, [key]: ['a 1'] }, field: `${key}[0]` },
    { name: `${key} item 33 characters`, body: { ...base, [key]: ['x'.repeat(33)] }, field: `${key}[0]` },
  ];
}

function timeoutCases(base: Record<string, unknown>): Case[] {
  return [
    { name: 'timeout_seconds 0', body: { ...base, timeout_seconds: 0 }, field: 'timeout_seconds' },
    { name: 'timeout_seconds 21601', body: { ...base, timeout_seconds: 21601 }, field: 'timeout_seconds' },
    { name: 'timeout_seconds "30"', body: { ...base, timeout_seconds: '30' }, field: 'timeout_seconds' },
  ];
}

function pathCases(base: Record<string, unknown>): Case[] {
  const without = { ...base };
  delete without['path'];
  return [
    { name: 'path missing', body: without, field: 'path' },
    { name: 'path a number', body: { ...base, path: 7 }, field: 'path' },
    { name: 'path empty', body: { ...base, path: '' }, field: 'path' },
    { name: 'path relative', body: { ...base, path: 'sdcard/x' }, field: 'path' },
    { name: 'path with a .. segment', body: { ...base, path: '/sdcard/../data/x' }, field: 'path' },
    { name: 'path with NUL', body: { ...base, path: '/sdcard/x\u0000y' }, field: 'path' },
    { name: 'path 1025 bytes', body: { ...base, path: LONG_PATH }, field: 'path' },
    { name: 'path 1025 bytes in UTF-8', body: { ...base, path: `/${'é'.repeat(512)}` }, field: 'path' },
  ];
}

const invalid: Record<keyof typeof ROUTES, Case[]> = {
  install: [
    { name: 'neither URL nor artifact', body: { instance_id_list: ['a1'] }, field: 'install_package_url' },
    { name: 'both URL and artifact', body: { ...valid.install, artifact_id: ARTIFACT }, field: 'artifact_id' },
    { name: 'URL a number', body: { ...valid.install, install_package_url: 5 }, field: 'install_package_url' },
    { name: 'URL empty', body: { ...valid.install, install_package_url: '' }, field: 'install_package_url' },
    { name: 'URL 2001 characters', body: { ...valid.install, install_package_url: `http://127.0.0.1/${'a'.repeat(1984)}` }, field: 'install_package_url' },
    { name: 'URL ftp', body: { ...valid.install, install_package_url: 'ftp://127.0.0.1/app.apk' }, field: 'install_package_url' },
    { name: 'URL file', body: { ...valid.install, install_package_url: 'file:///etc/passwd' }, field: 'install_package_url' },
    { name: 'URL not a URL', body: { ...valid.install, install_package_url: 'app.apk' }, field: 'install_package_url' },
    { name: 'artifact_id a number', body: { artifact_id: 5, instance_id_list: ['a1'] }, field: 'artifact_id' },
    { name: 'instance_ids instead of instance_id_list', body: { install_package_url: URL_OK, instance_ids: ['a1'] }, field: 'instance_id_list' },
    ...listCases(valid.install, 'instance_id_list'),
    { name: 'biz_type ipa', body: { ...valid.install, biz_type: 'ipa' }, field: 'biz_type' },
    { name: 'fast_install a number', body: { ...valid.install, fast_install: 1 }, field: 'fast_install' },
    { name: 'fast_install "2"', body: { ...valid.install, fast_install: '2' }, field: 'fast_install' },
    { name: 'file_name 101 characters', body: { ...valid.install, file_name: `${'f'.repeat(97)}.apk` }, field: 'file_name' },
    { name: 'object_name 101 characters', body: { ...valid.install, object_name: 'o'.repeat(101) }, field: 'object_name' },
    { name: 'object_version a number', body: { ...valid.install, object_version: 8 }, field: 'object_version' },
    { name: 'object_size negative', body: { ...valid.install, object_size: -1 }, field: 'object_size' },
    { name: 'content_md5 not a digest', body: { ...valid.install, content_md5: 'abc' }, field: 'content_md5' },
    { name: 'content_md5 31 hex digits', body: { ...valid.install, content_md5: 'a'.repeat(31) }, field: 'content_md5' },
    { name: 'content_md5 201 characters', body: { ...valid.install, content_md5: 'a'.repeat(201) }, field: 'content_md5' },
    ...timeoutCases(valid.install),
    // Rules come before ownership.
    { name: 'a bad URL and a foreign instance', body: { install_package_url: 'ftp://x/y', instance_id_list: ['b1'] }, field: 'install_package_url' },
  ],
  uninstall: [
    { name: 'package_name missing', body: { instance_ids: ['a1'] }, field: 'package_name' },
    { name: 'package_name a number', body: { ...valid.uninstall, package_name: 7 }, field: 'package_name' },
    { name: 'package_name empty', body: { ...valid.uninstall, package_name: '' }, field: 'package_name' },
    { name: 'package_name one part', body: { ...valid.uninstall, package_name: 'example' }, field: 'package_name' },
    { name: 'package_name starting with a digit', body: { ...valid.uninstall, package_name: 'com.1x' }, field: 'package_name' },
    { name: 'package_name with ..', body: { ...valid.uninstall, package_name: 'com..x' }, field: 'package_name' },
    { name: 'package_name with a space', body: { ...valid.uninstall, package_name: 'com.x y' }, field: 'package_name' },
    { name: 'package_name with ;', body: { ...valid.uninstall, package_name: 'com.x;reboot' }, field: 'package_name' },
    { name: 'package_name 256 characters', body: { ...valid.uninstall, package_name: `com.${'x'.repeat(252)}` }, field: 'package_name' },
    ...listCases(valid.uninstall, 'instance_ids'),
    ...timeoutCases(valid.uninstall),
  ],
  push: [
    { name: 'artifact_id missing', body: { path: '/sdcard/x', instance_ids: ['a1'] }, field: 'artifact_id' },
    { name: 'artifact_id null', body: { ...valid.push, artifact_id: null }, field: 'artifact_id' },
    ...pathCases(valid.push),
    { name: 'mode a number past 0o7777', body: { ...valid.push, mode: 4096 }, field: 'mode' },
    { name: 'mode a negative number', body: { ...valid.push, mode: -1 }, field: 'mode' },
    { name: 'mode not an integer', body: { ...valid.push, mode: 420.5 }, field: 'mode' },
    { name: 'mode a boolean', body: { ...valid.push, mode: true }, field: 'mode' },
    { name: 'mode not octal', body: { ...valid.push, mode: '0988' }, field: 'mode' },
    { name: 'mode 5 digits', body: { ...valid.push, mode: '10644' }, field: 'mode' },
    { name: 'mode 2 digits', body: { ...valid.push, mode: '44' }, field: 'mode' },
    ...listCases(valid.push, 'instance_ids'),
    ...timeoutCases(valid.push),
  ],
  pull: [...pathCases(valid.pull), ...listCases(valid.pull, 'instance_ids'), ...timeoutCases(valid.pull)],
  screenshot: [
    { name: 'body empty object', body: {}, field: 'instance_ids' },
    ...listCases(valid.screenshot, 'instance_ids'),
    ...timeoutCases(valid.screenshot),
  ],
};

for (const [op, cases] of Object.entries(invalid) as [keyof typeof ROUTES, Case[]][]) {
  for (const c of cases) {
    test(`${op}: ${c.name} -> 400 KOOPHONE.API.1000 naming ${c.field}, nothing created`, async () => {
      const before = await h.taskCount(tokenA);
      const res = await h.call(tokenA, 'POST', ROUTES[op], c.body);
      assert.equal(res.statusCode, 400, res.body);
      const e = envelope(res);
      assert.equal(e.error_code, 'KOOPHONE.API.1000');
      assert.ok(e.error_msg.startsWith(`${c.field}:`) || e.error_msg.startsWith(`${c.field} `), `"${e.error_msg}" should name ${c.field}`);
      assert.equal(await h.taskCount(tokenA), before, 'a refused request created a task');
    });
  }
}

test('the rules say what is wrong: path, package_name, mode, content_md5, the URL and its alternative', async () => {
  const said = async (op: keyof typeof ROUTES, body: Record<string, unknown>) => envelope(await h.call(tokenA, 'POST', ROUTES[op], body)).error_msg;
  assert.equal(await said('pull', { ...valid.pull, path: 'x' }), 'path: must be an absolute path (start with /)');
  assert.equal(await said('pull', { ...valid.pull, path: '/a/../b' }), 'path: must not contain a .. segment');
  assert.equal(await said('pull', { ...valid.pull, path: LONG_PATH }), 'path: must be at most 1024 bytes');
  assert.match(await said('uninstall', { ...valid.uninstall, package_name: 'x' }), /^package_name: must be an Android package name/);
  const modeRule = 'mode: must be permission bits: 3 or 4 octal digits in a string ("0644") or an integer from 0 to 4095 (420 is 0644)';
  assert.equal(await said('push', { ...valid.push, mode: 4096 }), modeRule);
  assert.equal(await said('push', { ...valid.push, mode: '999' }), modeRule);
  assert.match(await said('install', { ...valid.install, content_md5: 'x' }), /^content_md5: must be an MD5 digest: 32 hex digits or 24 characters of base64$/);
  assert.equal(await said('install', { ...valid.install, install_package_url: 'ftp://h/a.apk' }), 'install_package_url: must be an http or https URL');
  assert.equal(await said('install', { instance_id_list: ['a1'] }), 'install_package_url: is required (or artifact_id, an uploaded APK)');
});

for (const op of Object.keys(ROUTES) as (keyof typeof ROUTES)[]) {
  test(`${op}: instances missing or another tenant's -> 400 KOOPHONE.API.1001 naming them, nothing created`, async () => {
    const key = op === 'install' ? 'instance_id_list' : 'instance_ids';
    const before = await h.taskCount(tokenA);
    const res = await h.call(tokenA, 'POST', ROUTES[op], { ...valid[op], [key]: ['a1', 'b1', 'nope'] });
    assert.equal(res.statusCode, 400, res.body);
    assert.deepEqual(envelope(res), {
      error_code: 'KOOPHONE.API.1001',
      error_msg: `${key}: these instances do not exist or are not yours: b1, nope`,
    });
    assert.equal(await h.taskCount(tokenA), before);
  });
}

/** The op the worker will read with each of the task's jobs (all alike). */
async function queuedOp(taskId: string): Promise<TaskOp | null> {
  const jobs = await h.queuedOf(taskId);
  assert.ok(jobs.length > 0, `task ${taskId} has queued jobs`);
  const ops = new Set(jobs.map((j) => JSON.stringify(j.op)));
  assert.equal(ops.size, 1);
  return jobs[0]!.op;
}

function accepted(res: LightMyRequestResponse): { task_id: string; cmd_jobs: { instance_id: string; job_id: string }[] } {
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json<{ error_code: string; error_msg: string; data: { task_id: string; cmd_jobs: { instance_id: string; job_id: string }[] } }>();
  assert.equal(body.error_code, '0');
  assert.equal(body.error_msg, 'ok');
  return body.data;
}

test('uninstall, pull and screenshot queue one job per instance with their op; command ids are 32 hex', async () => {
  const cases: [keyof typeof ROUTES, Record<string, unknown>, TaskOp, string][] = [
    ['uninstall', { package_name: 'com.example.app', instance_ids: ['a1', 'a2'] }, { kind: 'uninstall', packageName: 'com.example.app' }, 'uninstall com.example.app'],
    ['pull', { path: '/sdcard/Download/x.txt', instance_ids: ['a1', 'a2'] }, { kind: 'pull', path: '/sdcard/Download/x.txt' }, 'pull /sdcard/Download/x.txt'],
    ['screenshot', { instance_ids: ['a1', 'a2'], timeout_seconds: 20 }, { kind: 'screenshot' }, 'screenshot'],
  ];
  for (const [op, body, expected, command] of cases) {
    const data = accepted(await h.call(tokenA, 'POST', ROUTES[op], body));
    assert.match(data.task_id, HEX32);
    assert.deepEqual(data.cmd_jobs.map((j) => j.instance_id), ['a1', 'a2']);
    for (const j of data.cmd_jobs) assert.match(j.job_id, HEX32);
    assert.deepEqual(await queuedOp(data.task_id), expected);
    const task = await h.store.getTask(await tenantKeyOfToken(h.store, tokenA), data.task_id);
    assert.equal(task?.command, command);
    assert.equal(task?.timeoutMs, ((body['timeout_seconds'] as number | undefined) ?? 300) * 1000);
    const got = await h.call(tokenA, 'GET', `/v1/instances/tasks/${data.task_id}`);
    assert.equal(got.statusCode, 200, got.body);
    assert.deepEqual(got.json<{ data: { jobs: { job_id: string; state: string }[] } }>().data.jobs.map((j) => [j.job_id, j.state]), data.cmd_jobs.map((j) => [j.job_id, 'queued']));
  }
});

test('push: the tenant\'s uploaded artifact, mode as octal digits (default 0644)', async () => {
  const artifactId = await upload(tokenA, Buffer.from('hello device\n'));
  const plain = accepted(await h.call(tokenA, 'POST', ROUTES.push, { artifact_id: artifactId, path: '/sdcard/hello.txt', instance_ids: ['a1'] }));
  const op = await queuedOp(plain.task_id);
  assert.ok(op?.kind === 'push');
  assert.deepEqual({ ...op, artifact: { ...op.artifact } }, {
    kind: 'push',
    path: '/sdcard/hello.txt',
    mode: 0o644,
    artifact: { artifactId, sha256: op.artifact.sha256, size: 13 },
  });
  assert.match(op.artifact.sha256, /^[0-9a-f]{64}$/);
  const exec = accepted(await h.call(tokenA, 'POST', ROUTES.push, { artifact_id: artifactId, path: '/data/local/tmp/run.sh', mode: '755', instance_ids: ['a2'] }));
  assert.equal((await queuedOp(exec.task_id) as { mode: number }).mode, 0o755);
  const setuid = accepted(await h.call(tokenA, 'POST', ROUTES.push, { artifact_id: artifactId, path: '/data/local/tmp/s', mode: '4750', instance_ids: ['a2'] }));
  assert.equal((await queuedOp(setuid.task_id) as { mode: number }).mode, 0o4750);
  // An integer is the bits themselves: what 0o755 in a client's code becomes in JSON.
  const bits = accepted(await h.call(tokenA, 'POST', ROUTES.push, { artifact_id: artifactId, path: '/data/local/tmp/b', mode: 0o755, instance_ids: ['a2'] }));
  assert.equal((await queuedOp(bits.task_id) as { mode: number }).mode, 0o755);
});

test('push and install: an unknown, malformed or another tenant\'s artifact_id -> 400 NO_SUCH_ARTIFACT, nothing created', async () => {
  const theirs = await upload(tokenB, Buffer.from('beta file'));
  const before = await h.taskCount(tokenA);
  for (const artifactId of [theirs, '0'.repeat(32), 'not-an-id']) {
    for (const [route, body] of [
      [ROUTES.push, { artifact_id: artifactId, path: '/sdcard/x', instance_ids: ['a1'] }],
      [ROUTES.install, { artifact_id: artifactId, instance_id_list: ['a1'] }],
    ] as const) {
      const res = await h.call(tokenA, 'POST', route, body);
      assert.equal(res.statusCode, 400, res.body);
      assert.deepEqual(envelope(res), { error_code: 'KOOPHONE.API.1000', error_msg: `artifact_id ${artifactId} does not exist` });
    }
  }
  assert.equal(await h.taskCount(tokenA), before);
});

test('install from an uploaded file that is not an APK -> 400 naming artifact_id and why', async () => {
  const artifactId = await upload(tokenA, Buffer.from('not a zip at all'));
  const res = await h.call(tokenA, 'POST', ROUTES.install, { artifact_id: artifactId, instance_id_list: ['a1'] });
  assert.equal(res.statusCode, 400, res.body);
  assert.match(envelope(res).error_msg, /^artifact_id: is not an APK: /);
});

test('push: an artifact purged between the route\'s lookup and the task\'s write -> the same 400, nothing created', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'adbfleet-ops-race-'));
  const real = await createTestStore(dir);
  // The real store, purging every artifact no task names right after the route found one.
  const racing = overrideStore(real, {
    getArtifact: async (tenantKey, artifactId) => {
      const found = await real.getArtifact(tenantKey, artifactId);
      await real.purgeArtifacts(Date.now() + 60_000, 1000);
      return found;
    },
  });
  const r = await startApiHarness({ store: racing, closeStore: true });
  try {
    const t = await r.tenant('gamma');
    await r.instance('g1', t.tenantId);
    const up = await r.call(t.token, 'POST', '/v1/artifacts', Buffer.from('gamma'), { 'content-type': 'application/octet-stream' });
    assert.equal(up.statusCode, 200, up.body);
    const id = up.json<{ data: { artifact_id: string } }>().data.artifact_id;
    const res = await r.call(t.token, 'POST', ROUTES.push, { artifact_id: id, path: '/sdcard/x', instance_ids: ['g1'] });
    assert.equal(res.statusCode, 400, res.body);
    assert.deepEqual(envelope(res), { error_code: 'KOOPHONE.API.1000', error_msg: `artifact_id ${id} does not exist` });
    assert.equal(await r.taskCount(t.token), 0);
  } finally {
    await r.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('GET task: an unknown ZGCA id -> 404 KOOPHONE.API.1323; other unknown or malformed ids stay 400 KOOPHONE.API.1000', async () => {
  const unknownZgca = `${INSTALL_TASK_PREFIX}${'0'.repeat(28)}`;
  const res = await h.call(tokenA, 'GET', `/v1/instances/tasks/${unknownZgca}`);
  assert.equal(res.statusCode, 404, res.body);
  assert.deepEqual(envelope(res), { error_code: 'KOOPHONE.API.1323', error_msg: `task_id ${unknownZgca} does not exist` });
  for (const id of ['0'.repeat(32), 'ZGCA123', `ZGCA${'A'.repeat(28)}`, `zgca${'0'.repeat(28)}`]) {
    const r = await h.call(tokenA, 'GET', `/v1/instances/tasks/${id}`);
    assert.equal(r.statusCode, 400, `${id}: ${r.body}`);
    assert.deepEqual(envelope(r), { error_code: 'KOOPHONE.API.1000', error_msg: `task_id ${id} does not exist` });
  }
});

test('an install task: ZGCA id; GET, output, cancel and events take it; another tenant gets 1323 / does not exist', { skip: aaptSkip }, async () => {
  const artifactId = await upload(tokenA, await apkBytes());
  const data = accepted(await h.call(tokenA, 'POST', ROUTES.install, { artifact_id: artifactId, instance_id_list: ['a1', 'a2'] }));
  assert.match(data.task_id, ZGCA);
  const op = await queuedOp(data.task_id);
  assert.equal(op?.kind, 'install');

  const got = await h.call(tokenA, 'GET', `/v1/instances/tasks/${data.task_id}`);
  assert.equal(got.statusCode, 200, got.body);
  const job = data.cmd_jobs[0]!.job_id;
  const out = await h.call(tokenA, 'GET', `/v1/instances/tasks/${data.task_id}/jobs/${job}/output`);
  assert.equal(out.statusCode, 200, out.body);

  // Another tenant: as if it did not exist.
  const foreign = await h.call(tokenB, 'GET', `/v1/instances/tasks/${data.task_id}`);
  assert.equal(foreign.statusCode, 404);
  assert.equal(envelope(foreign).error_code, 'KOOPHONE.API.1323');
  for (const [method, path] of [
    ['POST', `/v1/instances/tasks/${data.task_id}/cancel`],
    ['GET', `/v1/instances/tasks/${data.task_id}/events`],
    ['GET', `/v1/instances/tasks/${data.task_id}/jobs/${job}/output`],
  ] as const) {
    const r = await h.call(tokenB, method, path);
    assert.equal(r.statusCode, 400, `${path}: ${r.body}`);
    assert.deepEqual(envelope(r), { error_code: 'KOOPHONE.API.1000', error_msg: `task_id ${data.task_id} does not exist` });
  }

  const cancelled = await h.call(tokenA, 'POST', `/v1/instances/tasks/${data.task_id}/cancel`);
  assert.equal(cancelled.statusCode, 200, cancelled.body);
  assert.deepEqual(cancelled.json<{ data: { jobs: { state: string }[] } }>().data.jobs.map((j) => j.state), ['cancelled', 'cancelled']);
  // Every job final: the stream sends the snapshot and `done`, then ends.
  const events = await h.call(tokenA, 'GET', `/v1/instances/tasks/${data.task_id}/events`);
  assert.equal(events.statusCode, 200, events.body);
  assert.match(events.body, new RegExp(`event: done\\ndata: \\{"task_id":"${data.task_id}"\\}`));
});

test('idempotency: push replays its task for the same x-request-id and body even once the artifact is gone; another body -> 409', async () => {
  const artifactId = await upload(tokenA, Buffer.from(`replayed ${Date.now()}`));
  const body = { artifact_id: artifactId, path: '/sdcard/r.txt', instance_ids: ['a1'] };
  const headers = { 'x-request-id': `push-${Date.now()}` };
  const first = accepted(await h.call(tokenA, 'POST', ROUTES.push, body, headers));
  const before = await h.taskCount(tokenA);
  // "0644" is the default: the same request.
  const again = accepted(await h.call(tokenA, 'POST', ROUTES.push, { ...body, mode: '0644' }, headers));
  assert.deepEqual(again, first);
  const other = await h.call(tokenA, 'POST', ROUTES.push, { ...body, path: '/sdcard/other.txt' }, headers);
  assert.equal(other.statusCode, 409, other.body);
  assert.deepEqual(envelope(other), { error_code: 'KOOPHONE.API.1000', error_msg: 'x-request-id: already used for another request' });
  // The same id on another operation is another request too.
  const pull = await h.call(tokenA, 'POST', ROUTES.pull, { path: '/sdcard/r.txt', instance_ids: ['a1'] }, headers);
  assert.equal(pull.statusCode, 409, pull.body);
  assert.equal(await h.taskCount(tokenA), before);
});

test('idempotency: screenshot, uninstall and pull replay as async-command does', async () => {
  for (const [op, body] of [
    ['screenshot', { instance_ids: ['a1'] }],
    ['uninstall', { package_name: 'com.example.app', instance_ids: ['a1'] }],
    ['pull', { path: '/sdcard/a', instance_ids: ['a1'] }],
  ] as const) {
    const headers = { 'x-request-id': `${op}-${Date.now()}` };
    const first = accepted(await h.call(tokenA, 'POST', ROUTES[op], body, headers));
    const before = await h.taskCount(tokenA);
    assert.deepEqual(accepted(await h.call(tokenA, 'POST', ROUTES[op], { ...body, timeout_seconds: 300 }, headers)), first);
    assert.equal((await h.call(tokenA, 'POST', ROUTES[op], { ...body, timeout_seconds: 301 }, headers)).statusCode, 409);
    assert.equal(await h.taskCount(tokenA), before);
  }
});

test('an operation\'s audit entry names its action and instances (install: instance_id_list)', async () => {
  const rid = `audit-${Date.now()}`;
  accepted(await h.call(tokenA, 'POST', ROUTES.screenshot, { instance_ids: ['a1'] }, { 'x-request-id': `${rid}-s` }));
  const refused = await h.call(tokenA, 'POST', ROUTES.install, { install_package_url: URL_OK, instance_id_list: ['b1'] }, { 'x-request-id': `${rid}-i` });
  assert.equal(refused.statusCode, 400);
  const entries = async (requestId: string) => {
    for (let i = 0; i < 100; i++) {
      const res = await h.admin('GET', `/audit?request_id=${requestId}`);
      const list = res.json<{ entries: { action: string; targets: Record<string, unknown>; outcome: { status: number; error_code: string } }[] }>().entries;
      if (list.length > 0) return list;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no audit entry for ${requestId}`);
  };
  const [shot] = await entries(`${rid}-s`);
  assert.equal(shot?.action, 'screenshot');
  assert.deepEqual(shot?.targets, { instance_ids: ['a1'] });
  const [install] = await entries(`${rid}-i`);
  assert.equal(install?.action, 'app.install');
  assert.deepEqual(install?.targets, { instance_ids: ['b1'] });
  assert.deepEqual(install?.outcome, { status: 400, error_code: 'KOOPHONE.API.1001', task_id: null, replayed: false });
});

/** A real APK's bytes (built by aapt once). */
let apk: Buffer | null = null;
async function apkBytes(): Promise<Buffer> {
  if (apk !== null) return apk;
  const path = await buildApk({ packageName: 'com.example.ops', versionCode: 3, versionName: '1.0.3' });
  apk = await readFile(path);
  await rm(dirname(dirname(path)), { recursive: true, force: true });
  return apk;
}
