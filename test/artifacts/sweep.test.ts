// The artifact directory's sweep on a real store: files a row names stay, unnamed ones go once an
// hour old, temporary files once a day old; and the retention purger purges uploads past
// retention first, then sweeps their files, at most once per sweep interval.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { BlobStore, sweepBlobs } from '../../src/artifacts/index.js';
import { JobCode } from '../../src/core/job-state.js';
import { createRetentionPurger } from '../../src/dispatch/index.js';
import type { Store } from '../../src/store/index.js';
import { tenantKeyOf } from '../support/index.js';
import { createTestStore } from '../support/test-store.js';

const HOUR = 3_600_000;
let dir = '';
let store: Store;
let blobs: BlobStore;
let tenantKey = 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'adbfleet-sweep-'));
  store = await createTestStore(dir);
  await store.open();
  blobs = new BlobStore(join(dir, 'artifacts'));
  await blobs.init();
  const { tenantId } = await store.createTenant('sweep');
  tenantKey = await tenantKeyOf(store, tenantId);
  await store.createInstance({ instanceId: 'sw-1', adbAddress: '127.0.0.1:5555', instanceName: '', zone: '', tenantId });
});
after(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

/** A file in the directory, last written `ageMs` ago. */
async function file(content: string, ageMs: number): Promise<string> {
  const { sha256 } = await blobs.write(Readable.from([Buffer.from(content)]), 1024);
  const at = new Date(Date.now() - ageMs);
  await utimes(blobs.pathOf(sha256), at, at);
  return sha256;
}

async function tempFile(name: string, ageMs: number): Promise<void> {
  const path = join(blobs.tempDir, name);
  await writeFile(path, 'partial');
  const at = new Date(Date.now() - ageMs);
  await utimes(path, at, at);
}

const exists = async (sha256: string): Promise<boolean> => (await blobs.sizeOf(sha256)) !== null;

test('named files stay, unnamed ones go once an hour old; temporary files once a day old', async () => {
  const uploaded = await file('an upload', 2 * HOUR);
  await store.putArtifact(tenantKey, { sha256: uploaded, size: 9, contentType: 'application/octet-stream' }, Date.now());
  const pulled = await file('a pulled file', 2 * HOUR);
  const task = await store.createTask({ tenantKey, command: 'pull /x', op: { kind: 'pull', path: '/x' }, timeoutMs: 1000, kind: 'async', instanceIds: ['sw-1'] });
  const job = task.jobs[0]!;
  await store.markRunning([job.jobKey], Date.now());
  await store.finishJobs([{
    jobKey: job.jobKey, state: 'succeeded', errorCode: JobCode.Ok, errorMsg: 'ok', exitCode: 0, executeMsg: '', outputBytes: 0,
    outputTruncated: false, finishedAt: Date.now(), output: null, artifact: { sha256: pulled, size: 13, contentType: 'application/octet-stream' },
  }]);
  const orphan = await file('nobody names me', 2 * HOUR);
  const fresh = await file('placed a moment ago, its row not yet committed', 0);
  await tempFile('old-partial', 25 * HOUR);
  await tempFile('current-partial', HOUR);

  const swept = await sweepBlobs(blobs, { referenced: (s) => store.referencedBlobs(s), batchSize: 2 });
  assert.deepEqual(swept, { files: 1, tempFiles: 1 });
  assert.deepEqual([await exists(uploaded), await exists(pulled), await exists(orphan), await exists(fresh)], [true, true, false, true]);
  assert.deepEqual(await readdir(blobs.tempDir), ['current-partial']);
  // Unnamed and old, but written again since the listing (the same bytes uploaded anew): kept.
  const again = await file('uploaded again', 2 * HOUR);
  const swept2 = await sweepBlobs(blobs, {
    referenced: async (s) => {
      await blobs.write(Readable.from([Buffer.from('uploaded again')]), 1024);
      return store.referencedBlobs(s);
    },
  });
  assert.equal(swept2.files, 0);
  assert.ok(await exists(again));
  await rm(join(blobs.tempDir, 'current-partial'));
});

test('the retention purger purges unused uploads past retention, then sweeps their files, at most once an interval', async () => {
  const old = await file('an old upload', 2 * HOUR);
  await store.putArtifact(tenantKey, { sha256: old, size: 13, contentType: 'application/octet-stream' }, Date.now() - 10 * HOUR);
  const used = await file('an old upload a task still names', 2 * HOUR);
  const usedArtifact = await store.putArtifact(tenantKey, { sha256: used, size: 31, contentType: 'application/octet-stream' }, Date.now() - 10 * HOUR);
  await store.createTask({
    tenantKey, command: 'push /sdcard/y', timeoutMs: 1000, kind: 'async', instanceIds: ['sw-1'],
    op: { kind: 'push', path: '/sdcard/y', mode: 0o644, artifact: { artifactId: usedArtifact.artifactId, sha256: used, size: 31 } },
  });
  const purger = createRetentionPurger({ store, config: { retentionMs: 5 * HOUR }, blobs, sweepIntervalMs: HOUR });
  const first = await purger.runOnce();
  assert.deepEqual([first.artifacts, first.files], [1, 1]);
  assert.deepEqual([await exists(old), await exists(used)], [false, true]);
  // Within the interval the directory is not listed again.
  const orphan = await file('another orphan', 2 * HOUR);
  assert.equal((await purger.runOnce()).files, 0);
  assert.ok(await exists(orphan));
  const eager = createRetentionPurger({ store, config: { retentionMs: 5 * HOUR }, blobs, sweepIntervalMs: 0 });
  assert.equal((await eager.runOnce()).files, 1);
  assert.equal(await exists(orphan), false);
});
