// SPEC §10's app install from install_package_url, through the real API and store, fetching from
// a real HTTP server on this machine (an allow-listed host) that counts what it is asked: a real
// APK built by aapt, a 404, a file that is not an APK, a host not on the list, content_md5 in hex
// and base64, object_name, the idempotent replay that fetches nothing, and tenant isolation.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { aaptSkip, type ApiHarness, buildApk, envelope, startApiHarness } from '../support/index.js';
import { tenantKeyOfToken } from '../support/tenants.js';

const INSTALL = '/v1/instances/app/install';
const SPEC = { packageName: 'com.example.app', versionCode: 7, versionName: '2.1.0' };

let h: ApiHarness;
let server: Server;
let base: string;
let tokenA: string;
let tokenB: string;
let apk: Buffer;
/** requests the package server answered, by path */
const asked = new Map<string, number>();
const count = (path: string): number => asked.get(path) ?? 0;

before(async () => {
  if (aaptSkip !== false) return;
  const path = await buildApk(SPEC);
  apk = await readFile(path);
  await rm(dirname(dirname(path)), { recursive: true, force: true });
  server = createServer((req, res) => {
    const path = req.url ?? '';
    asked.set(path, count(path) + 1);
    if (path === '/app.apk') res.writeHead(200, { 'content-type': 'application/vnd.android.package-archive' }).end(apk);
    else if (path === '/text') res.writeHead(200, { 'content-type': 'text/plain' }).end('hello, not a package\n');
    else res.writeHead(404).end('no such file');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  h = await startApiHarness({ config: { urlAllowlist: ['127.0.0.1'] } });
  const a = await h.tenant('alpha');
  const b = await h.tenant('beta');
  tokenA = a.token;
  tokenB = b.token;
  for (const id of ['a1', 'a2']) await h.instance(id, a.tenantId);
  await h.instance('b1', b.tenantId);
});
after(async () => {
  if (aaptSkip !== false) return;
  await h.close();
  await new Promise((resolve) => server.close(resolve));
});

interface InstallData {
  task_id: string;
  cmd_jobs: { instance_id: string; job_id: string }[];
  artifact_id: string;
  package: { name: string; version_code: number | null; version_name: string | null; sha256: string; size: number };
}

function installed(res: LightMyRequestResponse): InstallData {
  assert.equal(res.statusCode, 200, res.body);
  return res.json<{ data: InstallData }>().data;
}

/** A refusal: the status, code and message, and that the tenant has no more tasks than before. */
async function refused(token: string, body: Record<string, unknown>, status: number, code: string, message: RegExp | string): Promise<void> {
  const before = await h.taskCount(token);
  const res = await h.call(token, 'POST', INSTALL, body);
  assert.equal(res.statusCode, status, res.body);
  const e = envelope(res);
  assert.equal(e.error_code, code);
  if (typeof message === 'string') assert.equal(e.error_msg, message);
  else assert.match(e.error_msg, message);
  assert.equal(await h.taskCount(token), before, 'a refused install created a task');
}

const md5 = (b: Buffer) => createHash('md5').update(b).digest();

test('install from an allow-listed URL: fetched once, its manifest read, a ZGCA task whose jobs carry the op', { skip: aaptSkip }, async () => {
  const before = count('/app.apk');
  const data = installed(
    await h.call(tokenA, 'POST', INSTALL, {
      install_package_url: `${base}/app.apk`,
      instance_id_list: ['a1', 'a2'],
      file_name: 'app.apk',
      object_name: 'com.example.app',
      object_version: '2.1.0',
      object_size: '1',
      biz_type: 'apk',
      content_type: 'application/octet-stream',
      fast_install: '0',
    }),
  );
  assert.equal(count('/app.apk'), before + 1);
  assert.match(data.task_id, /^ZGCA[0-9a-f]{28}$/);
  assert.deepEqual(data.cmd_jobs.map((j) => j.instance_id), ['a1', 'a2']);
  const sha256 = createHash('sha256').update(apk).digest('hex');
  assert.deepEqual(data.package, { name: SPEC.packageName, version_code: SPEC.versionCode, version_name: SPEC.versionName, sha256, size: apk.length });
  assert.match(data.artifact_id, /^[0-9a-f]{32}$/);

  const jobs = await h.queuedOf(data.task_id);
  assert.equal(jobs.length, 2);
  for (const j of jobs) {
    assert.deepEqual(j.op, {
      kind: 'install',
      artifact: { artifactId: data.artifact_id, sha256, size: apk.length },
      packageName: SPEC.packageName,
      versionCode: SPEC.versionCode,
      versionName: SPEC.versionName,
    });
  }
  // The package is the tenant's artifact: kept under its id, usable for a push, and the task list says what runs.
  const tenantKey = await tenantKeyOfToken(h.store, tokenA);
  assert.equal((await h.store.getArtifact(tenantKey, data.artifact_id))?.sha256, sha256);
  const list = await h.call(tokenA, 'GET', '/v1/instances/tasks?limit=1');
  assert.equal(list.json<{ data: { tasks: { task_id: string; command: string }[] } }>().data.tasks[0]?.command, 'install com.example.app 2.1.0');
  const push = await h.call(tokenA, 'POST', '/v1/instances/files/push', { artifact_id: data.artifact_id, path: '/sdcard/app.apk', instance_ids: ['a1'] });
  assert.equal(push.statusCode, 200, push.body);

  // Another tenant: neither the artifact nor the task.
  const theirs = await h.call(tokenB, 'POST', INSTALL, { artifact_id: data.artifact_id, instance_id_list: ['b1'] });
  assert.equal(theirs.statusCode, 400);
  assert.equal(envelope(theirs).error_msg, `artifact_id ${data.artifact_id} does not exist`);
  const task = await h.call(tokenB, 'GET', `/v1/instances/tasks/${data.task_id}`);
  assert.equal(task.statusCode, 404);
  assert.equal(envelope(task).error_code, 'KOOPHONE.API.1323');
  // The same URL for another tenant: its own artifact of the same file.
  const b = installed(await h.call(tokenB, 'POST', INSTALL, { install_package_url: `${base}/app.apk`, instance_id_list: ['b1'] }));
  assert.notEqual(b.artifact_id, data.artifact_id);
  assert.equal(b.package.sha256, sha256);
});

test('content_md5: hex (any case) and base64 of the bytes are accepted; another digest -> 400 naming content_md5', { skip: aaptSkip }, async () => {
  const url = `${base}/app.apk`;
  installed(await h.call(tokenA, 'POST', INSTALL, { install_package_url: url, instance_id_list: ['a1'], content_md5: md5(apk).toString('hex').toUpperCase() }));
  installed(await h.call(tokenA, 'POST', INSTALL, { install_package_url: url, instance_id_list: ['a1'], content_md5: md5(apk).toString('base64') }));
  installed(await h.call(tokenA, 'POST', INSTALL, { install_package_url: url, instance_id_list: ['a1'], content_md5: '' }));
  await refused(tokenA, { install_package_url: url, instance_id_list: ['a1'], content_md5: 'f'.repeat(32) }, 400, 'KOOPHONE.API.1000', `content_md5: does not match the package, whose MD5 is ${md5(apk).toString('hex')}`);
});

test('object_name that is not the APK\'s package -> 400 naming both', { skip: aaptSkip }, async () => {
  await refused(tokenA, { install_package_url: `${base}/app.apk`, instance_id_list: ['a1'], object_name: 'com.tencent.mm' }, 400, 'KOOPHONE.API.1000', 'object_name: com.tencent.mm is not the package the APK holds (com.example.app)');
});

test('a host not on the allow-list is refused without a request', { skip: aaptSkip }, async () => {
  const port = (server.address() as AddressInfo).port;
  const before = count('/app.apk');
  await refused(tokenA, { install_package_url: `http://localhost:${port}/app.apk`, instance_id_list: ['a1'] }, 400, 'KOOPHONE.API.1000', /^install_package_url: could not be fetched: .*localhost/);
  assert.equal(count('/app.apk'), before);
});

test('a URL answering 404 -> 400 naming install_package_url and the status', { skip: aaptSkip }, async () => {
  await refused(tokenA, { install_package_url: `${base}/gone.apk`, instance_id_list: ['a1'] }, 400, 'KOOPHONE.API.1000', /^install_package_url: could not be fetched: .*404/);
  assert.equal(count('/gone.apk'), 1);
});

test('a URL whose file is not an APK -> 400 naming install_package_url and why', { skip: aaptSkip }, async () => {
  await refused(tokenA, { install_package_url: `${base}/text`, instance_id_list: ['a1'] }, 400, 'KOOPHONE.API.1000', /^install_package_url: is not an APK: ./);
});

test('ownership is checked before anything is fetched: 1001 naming instance_id_list', { skip: aaptSkip }, async () => {
  const before = count('/app.apk');
  await refused(tokenA, { install_package_url: `${base}/app.apk`, instance_id_list: ['a1', 'b1', 'zz'] }, 400, 'KOOPHONE.API.1001', 'instance_id_list: these instances do not exist or are not yours: b1, zz');
  assert.equal(count('/app.apk'), before);
});

test('idempotency: the same x-request-id and body -> the original answer without fetching again; another body -> 409', { skip: aaptSkip }, async () => {
  const body = { install_package_url: `${base}/app.apk`, instance_id_list: ['a1'], content_md5: md5(apk).toString('hex') };
  const headers = { 'x-request-id': `install-${Date.now()}` };
  const first = installed(await h.call(tokenA, 'POST', INSTALL, body, headers));
  const fetched = count('/app.apk');
  const tasks = await h.taskCount(tokenA);
  // content_md5 in base64 and the default timeout written out: the same request.
  const again = installed(await h.call(tokenA, 'POST', INSTALL, { ...body, content_md5: md5(apk).toString('base64'), timeout_seconds: 300 }, headers));
  assert.deepEqual(again, first);
  const other = await h.call(tokenA, 'POST', INSTALL, { ...body, instance_id_list: ['a2'] }, headers);
  assert.equal(other.statusCode, 409, other.body);
  assert.equal(envelope(other).error_msg, 'x-request-id: already used for another request');
  assert.equal(count('/app.apk'), fetched, 'a replay or a conflict fetched the URL');
  assert.equal(await h.taskCount(tokenA), tasks);
});

test('an operator who allows no URL: the install says so and fetches nothing', { skip: aaptSkip }, async () => {
  const closed = await startApiHarness({ config: { urlAllowlist: [] } });
  try {
    const t = await closed.tenant('delta');
    await closed.instance('d1', t.tenantId);
    const before = count('/app.apk');
    const res = await closed.call(t.token, 'POST', INSTALL, { install_package_url: `${base}/app.apk`, instance_id_list: ['d1'] });
    assert.equal(res.statusCode, 400, res.body);
    assert.match(envelope(res).error_msg, /^install_package_url: the operator has not allowed fetching URLs/);
    assert.equal(count('/app.apk'), before);
    assert.equal(await closed.taskCount(t.token), 0);
  } finally {
    await closed.close();
  }
});
