// The typed client's device operations against the whole service and a simulated fleet: uploads
// in each body form, push then pull byte for byte, screenshots, an APK installed and uninstalled,
// and the refusals callers see.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { readFile, rm, writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes, createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { AdbfleetError, createClient, type OperationResult, type TenantClient } from '../../src/client/index.js';
import { aaptSkip, buildApk, startServiceHarness, type ServiceHarness } from '../support/index.js';

let h: ServiceHarness;
let client: TenantClient;
let dir: string;

before(async () => {
  h = await startServiceHarness({ instances: 2 });
  client = createClient({ url: h.url, token: h.token });
  dir = await mkdtemp(join(tmpdir(), 'adbfleet-client-ops-'));
});
after(async () => {
  await h?.close();
  await rm(dir, { recursive: true, force: true });
});

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** The task's jobs once they are final. */
async function finished(r: OperationResult): Promise<{ job_id: string; instance_id: string; state: string; execute_msg: string }[]> {
  for await (const _ of client.taskEvents(r.task_id));
  return (await client.getTask(r.task_id)).jobs;
}

async function readAll(body: ReadableStream<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

test('uploadArtifact takes a Uint8Array, a Blob, a web stream and an async iterable: the same bytes, the same artifact', async () => {
  const bytes = randomBytes(3 * 1024 * 1024 + 7);
  const path = join(dir, 'upload.bin');
  await writeFile(path, bytes);
  const whole = await client.uploadArtifact(bytes);
  assert.equal(whole.size, bytes.length);
  assert.equal(whole.sha256, sha256(bytes));
  assert.equal(whole.content_type, 'application/octet-stream');
  const blob = await client.uploadArtifact(new Blob([bytes]));
  const stream = await client.uploadArtifact(Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>);
  const iterable = await client.uploadArtifact(createReadStream(path, { highWaterMark: 64 * 1024 }));
  for (const a of [blob, stream, iterable]) assert.deepEqual(a, whole);
  assert.deepEqual(await client.getArtifact(whole.artifact_id), whole);
});

test('pushFile then pullFile: downloadArtifact streams the same bytes, with type and length', async () => {
  const bytes = randomBytes(200_000);
  const art = await client.uploadArtifact(bytes);
  const remote = '/sdcard/client-ops/data.bin';
  const pushed = await finished(await client.pushFile({ artifact_id: art.artifact_id, path: remote, instance_ids: h.ids, mode: '0600' }));
  assert.deepEqual(pushed.map((j) => j.state), h.ids.map(() => 'succeeded'), JSON.stringify(pushed));
  const pull = await client.pullFile({ path: remote, instance_ids: h.ids });
  const pulled = await finished(pull);
  assert.deepEqual(pulled.map((j) => j.instance_id), h.ids);
  for (const job of pulled) {
    assert.equal(job.state, 'succeeded', job.execute_msg);
    const file = await client.downloadArtifact(pull.task_id, job.job_id);
    assert.equal(file.contentType, 'application/octet-stream');
    assert.equal(file.contentLength, bytes.length);
    assert.ok((await readAll(file.body)).equals(bytes), `${job.instance_id}: the pulled bytes are the pushed ones`);
  }
  // A push's job made no file: 404, naming the job.
  const pushTask = (await client.listTasks({ limit: 5 })).tasks.find((t) => t.command.startsWith('push'));
  assert.ok(pushTask);
  const pushJob = (await client.getTask(pushTask.task_id)).jobs[0]!;
  await assert.rejects(client.downloadArtifact(pushTask.task_id, pushJob.job_id), (e: unknown) => e instanceof AdbfleetError && e.status === 404 && e.message.includes(pushJob.job_id));
});

test('screenshot: each job has a PNG', async () => {
  const shot = await client.screenshot({ instance_ids: h.ids, timeout_seconds: 60 });
  for (const job of await finished(shot)) {
    assert.equal(job.state, 'succeeded', job.execute_msg);
    const file = await client.downloadArtifact(shot.task_id, job.job_id);
    assert.equal(file.contentType, 'image/png');
    const png = await readAll(file.body);
    assert.equal(png.length, file.contentLength);
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  }
});

test('install an uploaded APK, pm lists it, uninstall removes it', { skip: aaptSkip }, async () => {
  const apk = await buildApk({ packageName: 'org.adbfleet.clientops', versionCode: 4, versionName: '4.0' });
  try {
    const art = await client.uploadArtifact(await readFile(apk), { contentType: 'application/vnd.android.package-archive' });
    assert.equal(art.content_type, 'application/vnd.android.package-archive');
    const inst = await client.install({ artifact_id: art.artifact_id, instance_id_list: h.ids });
    assert.equal(inst.artifact_id, art.artifact_id);
    assert.deepEqual(inst.package, { name: 'org.adbfleet.clientops', version_code: 4, version_name: '4.0', sha256: art.sha256, size: art.size });
    assert.deepEqual((await finished(inst)).map((j) => j.state), h.ids.map(() => 'succeeded'));
    const listed = await client.syncCommand({ command: 'pm list packages org.adbfleet.clientops', instance_ids: h.ids });
    for (const r of listed.cmd_results) assert.match(r.execute_msg, /^package:org\.adbfleet\.clientops$/m);

    const un = await finished(await client.uninstall({ package_name: 'org.adbfleet.clientops', instance_ids: [h.ids[0]!] }));
    assert.equal(un[0]!.state, 'succeeded', un[0]!.execute_msg);
    const after = await client.syncCommand({ command: 'pm list packages org.adbfleet.clientops', instance_ids: [h.ids[0]!] });
    assert.doesNotMatch(after.cmd_results[0]!.execute_msg, /org\.adbfleet\.clientops/);
  } finally {
    await rm(dirname(dirname(apk)), { recursive: true, force: true });
  }
});

test('refusals: a bad path names the field; an operation retried with its requestId is the same task', async () => {
  await assert.rejects(
    client.pullFile({ path: '/sdcard/../etc/passwd', instance_ids: [h.ids[0]!] }),
    (e: unknown) => e instanceof AdbfleetError && e.status === 400 && /path: must not contain a \.\. segment/.test(e.message),
  );
  const requestId = crypto.randomUUID();
  const first = await client.screenshot({ instance_ids: [h.ids[1]!] }, { requestId });
  assert.deepEqual(await client.screenshot({ instance_ids: [h.ids[1]!] }, { requestId }), first);
  await finished(first);
});
