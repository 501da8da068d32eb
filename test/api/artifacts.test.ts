// Artifacts (SPEC §10) through the API on a real store and artifact directory: uploads (streamed
// over a real socket, deduplicated, limited, refused for a wrong media type, audited), their
// metadata per tenant, and a job's file with byte ranges and HEAD.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { JobCode } from '../../src/core/job-state.js';
import type { JobResult } from '../../src/store/index.js';
import { envelope, rid, startApiHarness, tenantKeyOfToken, until, type ApiHarness } from '../support/index.js';
import { upload } from '../support/upload.js';

const LIMIT = 256 * 1024;
let h: ApiHarness;
let url = '';
let a: { tenantId: string; token: string };
let b: { tenantId: string; token: string };

before(async () => {
  h = await startApiHarness({ config: { artifactMaxBytes: LIMIT } });
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
  a = await h.tenant('artifacts-a');
  b = await h.tenant('artifacts-b');
  await h.instance('art-a1', a.tenantId);
  await h.instance('art-b1', b.tenantId);
});
after(async () => {
  await h.close();
});

const sha = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');
const headersOf = (token: string, extra: Record<string, string> = {}): Record<string, string> => ({
  'x-request-id': rid(),
  'x-auth-token': token,
  ...extra,
});

async function* chunked(bytes: Buffer, size = 16 * 1024): AsyncGenerator<Buffer> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

test('an upload is stored under its sha256 and answered with its id, hash, size, type and time', async () => {
  const bytes = Buffer.alloc(100_000, 'abc');
  const r = await upload(url, headersOf(a.token, { 'content-type': 'application/octet-stream' }), chunked(bytes));
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const data = r.body.data;
  assert.match(data.artifact_id, /^[0-9a-f]{32}$/);
  assert.deepEqual({ ...data, artifact_id: '', created_at: '' }, {
    artifact_id: '',
    sha256: sha(bytes),
    size: bytes.length,
    content_type: 'application/octet-stream',
    created_at: '',
  });
  assert.ok(Math.abs(Date.parse(data.created_at) - Date.now()) < 60_000);
  assert.ok((await readFile(h.blobs.pathOf(sha(bytes)))).equals(bytes));
  assert.deepEqual(await readdir(h.blobs.tempDir), []);
  const meta = await h.call(a.token, 'GET', `/v1/artifacts/${data.artifact_id}`);
  assert.equal(meta.statusCode, 200);
  assert.deepEqual(meta.json().data, data);
});

test('the same bytes give the tenant the same artifact; another tenant gets its own id for the same file', async () => {
  const bytes = Buffer.from('same bytes, twice');
  const first = await upload(url, headersOf(a.token, { 'content-type': 'application/octet-stream' }), bytes);
  const again = await upload(url, headersOf(a.token), bytes);
  assert.equal(again.body.data.artifact_id, first.body.data.artifact_id);
  assert.equal(again.body.data.created_at, first.body.data.created_at);
  const other = await upload(url, headersOf(b.token), bytes);
  assert.notEqual(other.body.data.artifact_id, first.body.data.artifact_id);
  assert.equal(other.body.data.sha256, first.body.data.sha256);
});

test('media types: none and an APK\'s are taken and recorded; JSON, a form or multipart are refused before the body is read', async () => {
  const none = await upload(url, headersOf(a.token), Buffer.from('no type'));
  assert.equal(none.body.data.content_type, 'application/octet-stream');
  const apk = await upload(url, headersOf(a.token, { 'content-type': 'application/vnd.android.package-archive' }), Buffer.from('an apk, say'));
  assert.equal(apk.body.data.content_type, 'application/vnd.android.package-archive');
  const empty = await upload(url, headersOf(a.token, { 'content-type': 'application/octet-stream' }), Buffer.alloc(0));
  assert.deepEqual([empty.status, empty.body.data.size, empty.body.data.sha256], [200, 0, sha(Buffer.alloc(0))]);
  for (const type of ['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'text/plain']) {
    const r = await upload(url, headersOf(a.token, { 'content-type': type }), Buffer.from('{"file": "..."}'));
    assert.equal(r.status, 400, type);
    assert.deepEqual(r.body, {
      error_code: 'KOOPHONE.API.1000',
      error_msg: 'body: content-type must be application/octet-stream (or application/vnd.android.package-archive, or none)',
    });
  }
});

test('past the artifact limit: a Content-Length over it is refused at once, a chunked body when it passes it; no file is left', async () => {
  const declared = await upload(url, headersOf(a.token, { 'content-type': 'application/octet-stream', 'content-length': String(LIMIT + 1) }), (async function* () {
    // The answer comes first: nothing needs sending.
    await new Promise((r) => setTimeout(r, 10_000).unref());
    yield Buffer.alloc(0);
  })());
  assert.equal(declared.status, 413);
  assert.deepEqual(declared.body, { error_code: 'KOOPHONE.API.1000', error_msg: `body: larger than the artifact limit of ${LIMIT} bytes` });
  assert.equal(declared.headers.connection, 'close');
  const streamed = await upload(url, headersOf(a.token, { 'content-type': 'application/octet-stream' }), chunked(Buffer.alloc(LIMIT + 50_000, 7)));
  assert.equal(streamed.status, 413);
  assert.equal(streamed.body.error_msg, `body: larger than the artifact limit of ${LIMIT} bytes`);
  assert.deepEqual(await readdir(h.blobs.tempDir), []);
  assert.equal(await h.blobs.sizeOf(sha(Buffer.alloc(LIMIT + 50_000, 7))), null);
  // Exactly the limit is an artifact.
  const exact = await upload(url, headersOf(a.token), chunked(Buffer.alloc(LIMIT, 8)));
  assert.equal(exact.status, 200);
});

test('every other route keeps its 64 KiB JSON body and refuses octet-stream bodies', async () => {
  const big = { command: 'echo hi', instance_ids: ['art-a1'], padding: 'x'.repeat(70 * 1024) };
  const r = await h.call(a.token, 'POST', '/v1/instances/async-command', big);
  assert.equal(r.statusCode, 413);
  assert.equal(envelope(r).error_msg, 'body: larger than 64 KiB');
  const bytes = await h.app.inject({
    method: 'POST',
    url: '/v1/instances/async-command',
    headers: { ...headersOf(a.token), 'content-type': 'application/octet-stream' },
    payload: Buffer.from('abc'),
  });
  assert.equal(bytes.statusCode, 400);
  assert.equal(envelope(bytes).error_msg, 'body: content-type must be application/json');
});

test('an upload checks x-request-id and the token first, and is in the audit log, refused or not', async () => {
  const noId = await upload(url, { 'x-auth-token': a.token }, Buffer.from('x'));
  assert.deepEqual([noId.status, noId.body.error_code], [400, 'KOOPHONE.API.0002']);
  const noToken = await upload(url, { 'x-request-id': 'upload-no-token' }, Buffer.from('x'));
  assert.deepEqual([noToken.status, noToken.body.error_code], [401, 'APIGW.0301']);
  const id = rid();
  const ok = await upload(url, { 'x-request-id': id, 'x-auth-token': a.token }, Buffer.from('audited'));
  assert.equal(ok.status, 200);
  const entries = async (requestId: string) => (await h.store.listAudit({ requestId }, 10, null)).entries;
  await until(() => 'audit entries', async () => (await entries(id)).length === 1 && (await entries('upload-no-token')).length === 1, 5_000);
  const [entry] = await entries(id);
  assert.deepEqual([entry!.action, entry!.actor, entry!.outcome.status, entry!.outcome.errorCode], ['artifact.upload', a.tenantId, 200, '0']);
  const [refused] = await entries('upload-no-token');
  assert.deepEqual([refused!.action, refused!.actor, refused!.outcome.status], ['artifact.upload', null, 401]);
});

test('an artifact is its tenant\'s alone: another tenant, a malformed id and an unknown one "do not exist"', async () => {
  const mine = await upload(url, headersOf(a.token), Buffer.from('only for a'));
  const id: string = mine.body.data.artifact_id;
  for (const [token, artifactId] of [[b.token, id], [a.token, 'f'.repeat(32)], [a.token, 'not-an-id'], [a.token, id.toUpperCase()]] as const) {
    const r = await h.call(token, 'GET', `/v1/artifacts/${artifactId}`);
    assert.equal(r.statusCode, 400);
    assert.deepEqual(envelope(r), { error_code: 'KOOPHONE.API.1000', error_msg: `artifact_id ${artifactId} does not exist` });
  }
});

/** A pull job of the tenant, finished with `bytes` as its artifact (or with none). */
async function finishedJob(token: string, instanceId: string, bytes: Buffer | null): Promise<{ taskId: string; jobId: string }> {
  const tenantKey = await tenantKeyOfToken(h.store, token);
  const task = await h.store.createTask({
    tenantKey,
    command: 'pull /sdcard/x',
    op: { kind: 'pull', path: '/sdcard/x' },
    timeoutMs: 60_000,
    kind: 'async',
    instanceIds: [instanceId],
  });
  const job = task.jobs[0]!;
  const now = Date.now();
  await h.store.markRunning([job.jobKey], now);
  const artifact = bytes === null ? null : { ...(await h.blobs.write(Readable.from([bytes]), LIMIT)), contentType: 'application/octet-stream' };
  const result: JobResult = {
    jobKey: job.jobKey,
    state: 'succeeded',
    errorCode: JobCode.Ok,
    errorMsg: 'ok',
    exitCode: 0,
    executeMsg: 'pulled',
    outputBytes: 0,
    outputTruncated: false,
    finishedAt: now,
    output: null,
    artifact,
  };
  await h.store.finishJobs([result]);
  return { taskId: task.taskId, jobId: job.jobId };
}

test('a job\'s file: the bytes with their type and length, single byte ranges, 416 past the end, HEAD', async () => {
  const bytes = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
  const { taskId, jobId } = await finishedJob(a.token, 'art-a1', bytes);
  const path = `/v1/instances/tasks/${taskId}/jobs/${jobId}/artifact`;
  const get = (headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET') =>
    fetch(`${url}${path}`, { method, headers: headersOf(a.token, headers) });

  const whole = await get();
  assert.equal(whole.status, 200);
  assert.equal(whole.headers.get('content-type'), 'application/octet-stream');
  assert.equal(whole.headers.get('content-length'), '1000');
  assert.equal(whole.headers.get('accept-ranges'), 'bytes');
  assert.equal(whole.headers.get('etag'), `"${sha(bytes)}"`);
  assert.ok(Buffer.from(await whole.arrayBuffer()).equals(bytes));

  const cases: [range: string, start: number, end: number][] = [
    ['bytes=0-9', 0, 9],
    ['bytes=990-', 990, 999],
    ['bytes=-5', 995, 999],
    ['bytes=500-5000', 500, 999],
    ['BYTES=7-7', 7, 7],
    ['bytes=-5000', 0, 999],
  ];
  for (const [range, start, end] of cases) {
    const r = await get({ range });
    assert.equal(r.status, 206, range);
    assert.equal(r.headers.get('content-range'), `bytes ${start}-${end}/1000`, range);
    assert.equal(r.headers.get('content-length'), String(end - start + 1), range);
    assert.ok(Buffer.from(await r.arrayBuffer()).equals(bytes.subarray(start, end + 1)), range);
  }
  for (const range of ['bytes=1000-', 'bytes=5000-6000', 'bytes=-0']) {
    const r = await get({ range });
    assert.equal(r.status, 416, range);
    assert.equal(r.headers.get('content-range'), 'bytes */1000', range);
    assert.deepEqual(await r.json(), { error_code: 'KOOPHONE.API.1000', error_msg: 'range: not satisfiable for a file of 1000 bytes' });
  }
  // Ranges not served (several, malformed, another unit) and a stale If-Range: the whole file.
  for (const headers of [{ range: 'bytes=0-1,5-6' }, { range: 'bytes=9-2' }, { range: 'items=0-1' }, { range: 'bytes=0-9', 'if-range': '"stale"' }]) {
    const r = await get(headers);
    assert.equal(r.status, 200, JSON.stringify(headers));
    assert.equal((await r.arrayBuffer()).byteLength, 1000);
  }
  const resumed = await get({ range: 'bytes=10-', 'if-range': `"${sha(bytes)}"` });
  assert.equal(resumed.status, 206);
  await resumed.arrayBuffer();

  const head = await get({}, 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('content-length'), '1000');
  assert.equal(head.headers.get('accept-ranges'), 'bytes');
  assert.equal((await head.arrayBuffer()).byteLength, 0);
  const headRange = await get({ range: 'bytes=0-99' }, 'HEAD');
  assert.deepEqual([headRange.status, headRange.headers.get('content-length')], [206, '100']);
});

test('a job without a file is a 404; a task or job that is not the caller\'s "does not exist", as for output', async () => {
  const none = await finishedJob(a.token, 'art-a1', null);
  const r = await h.call(a.token, 'GET', `/v1/instances/tasks/${none.taskId}/jobs/${none.jobId}/artifact`);
  assert.equal(r.statusCode, 404);
  assert.deepEqual(envelope(r), {
    error_code: 'KOOPHONE.API.1000',
    error_msg: `job_id ${none.jobId} has no artifact (only a succeeded pull or screenshot has one)`,
  });
  const theirs = await finishedJob(b.token, 'art-b1', Buffer.from('b\'s file'));
  const foreign = await h.call(a.token, 'GET', `/v1/instances/tasks/${theirs.taskId}/jobs/${theirs.jobId}/artifact`);
  assert.deepEqual([foreign.statusCode, envelope(foreign).error_msg], [400, `task_id ${theirs.taskId} does not exist`]);
  const zgca = `ZGCA${'0'.repeat(28)}`;
  for (const taskId of [zgca, 'nope', '0'.repeat(32)]) {
    const missing = await h.call(a.token, 'GET', `/v1/instances/tasks/${taskId}/jobs/${none.jobId}/artifact`);
    assert.deepEqual([missing.statusCode, envelope(missing).error_msg], [400, `task_id ${taskId} does not exist`]);
  }
  for (const jobId of ['0'.repeat(32), 'bad', theirs.jobId]) {
    const missing = await h.call(a.token, 'GET', `/v1/instances/tasks/${none.taskId}/jobs/${jobId}/artifact`);
    assert.deepEqual([missing.statusCode, envelope(missing).error_msg], [400, `job_id ${jobId} does not exist`]);
  }
});
