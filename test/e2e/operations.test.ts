// SPEC §10 end to end: real HTTP, the worker, SQLite, the artifact directory and simulated
// devices. An APK built by aapt is installed from an allow-listed URL served on this machine and
// then listed by `pm list packages` on each instance, and uninstalled; a file uploaded, pushed and
// pulled back comes back byte for byte; a screenshot is a PNG.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { aaptSkip, buildApk, type JobJson, type ServiceHarness, startServiceHarness } from '../support/index.js';

const SPEC = { packageName: 'com.example.e2e', versionCode: 12, versionName: '1.2' };

let h: ServiceHarness;
let server: Server;
let base: string;
let fetched = 0;

before(async () => {
  if (aaptSkip !== false) return;
  const path = await buildApk(SPEC);
  const apk = await readFile(path);
  await rm(dirname(dirname(path)), { recursive: true, force: true });
  server = createServer((req, res) => {
    if (req.url !== '/e2e.apk') return void res.writeHead(404).end();
    fetched += 1;
    res.writeHead(200, { 'content-type': 'application/vnd.android.package-archive' }).end(apk);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  h = await startServiceHarness({ instances: 3, config: { urlAllowlist: ['127.0.0.1'] } });
});
after(async () => {
  if (aaptSkip !== false) return;
  await h.close();
  await new Promise((resolve) => server.close(resolve));
});

/** A shell command on the instances, run to its end: each job's output. */
async function shell(command: string, ids: string[]): Promise<JobJson[]> {
  const r = await h.call('POST', '/v1/instances/async-command', { command, instance_ids: ids });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return h.waitTask(r.body.data.task_id);
}

async function submit(path: string, body: unknown): Promise<{ task_id: string; cmd_jobs: { instance_id: string; job_id: string }[] }> {
  const r = await h.call('POST', path, body);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.data;
}

function succeeded(jobs: JobJson[]): void {
  for (const j of jobs) assert.equal(j.state, 'succeeded', `${j.instance_id}: ${j.error_code} ${j.error_msg} ${j.execute_msg}`);
}

const auth = (): Record<string, string> => ({ 'x-auth-token': h.token, 'x-request-id': randomUUID() });

test('install from a URL: every instance lists the package with its version; uninstall removes it', { skip: aaptSkip }, async () => {
  const ids = h.ids.slice(0, 2);
  const data = await submit('/v1/instances/app/install', { install_package_url: `${base}/e2e.apk`, instance_id_list: ids, biz_type: 'apk' });
  assert.match(data.task_id, /^ZGCA[0-9a-f]{28}$/);
  assert.equal(fetched, 1);
  succeeded(await h.waitTask(data.task_id));

  const listed = await shell(`pm list packages --show-versioncode ${SPEC.packageName}`, h.ids);
  for (const j of listed.slice(0, 2)) assert.match(j.execute_msg, new RegExp(`package:${SPEC.packageName.replace(/\./g, '\\.')} versionCode:${SPEC.versionCode}`));
  // The instance not in the request has nothing new.
  assert.doesNotMatch(listed[2]!.execute_msg, new RegExp(SPEC.packageName));

  succeeded(await h.waitTask((await submit('/v1/instances/app/uninstall', { package_name: SPEC.packageName, instance_ids: ids })).task_id));
  for (const j of await shell(`pm list packages ${SPEC.packageName}`, ids)) assert.doesNotMatch(j.execute_msg, new RegExp(SPEC.packageName));
});

test('a file uploaded, pushed and pulled back is the same bytes; a screenshot is a PNG', { skip: aaptSkip }, async () => {
  const bytes = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 31) & 0xff));
  const up = await fetch(`${h.url}/v1/artifacts`, { method: 'POST', headers: { ...auth(), 'content-type': 'application/octet-stream' }, body: bytes });
  assert.equal(up.status, 200);
  const artifactId = ((await up.json()) as { data: { artifact_id: string } }).data.artifact_id;
  const ids = [h.ids[2]!];
  const path = '/sdcard/Download/e2e.bin';
  succeeded(await h.waitTask((await submit('/v1/instances/files/push', { artifact_id: artifactId, path, mode: '0600', instance_ids: ids })).task_id));

  const pull = await submit('/v1/instances/files/pull', { path, instance_ids: ids });
  succeeded(await h.waitTask(pull.task_id));
  const file = await fetch(`${h.url}/v1/instances/tasks/${pull.task_id}/jobs/${pull.cmd_jobs[0]!.job_id}/artifact`, { headers: auth() });
  assert.equal(file.status, 200);
  assert.ok(Buffer.from(await file.arrayBuffer()).equals(bytes), 'the pulled file is the pushed one');

  const shot = await submit('/v1/instances/screenshot', { instance_ids: ids });
  succeeded(await h.waitTask(shot.task_id));
  const png = await fetch(`${h.url}/v1/instances/tasks/${shot.task_id}/jobs/${shot.cmd_jobs[0]!.job_id}/artifact`, { headers: auth() });
  assert.equal(png.status, 200);
  assert.equal(png.headers.get('content-type'), 'image/png');
  assert.ok(Buffer.from(await png.arrayBuffer()).subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])));
});
