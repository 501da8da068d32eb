// Conformance: device operations (SPEC §10) as the store keeps them: a task's operation through
// every read of it, install task ids, the uploads a task names, the files jobs produce, and the
// retention of both.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { JobCode } from '../../../src/core/job-state.js';
import { TASK_ID, type TaskOp } from '../../../src/core/operations.js';
import { StoreError, type Artifact, type CreatedTask, type QueuedJob, type Store } from '../../../src/store/index.js';
import { newTask, result, succeeded, tenantWithInstances, withStore, type Fixture, type MakeStore } from './fixtures.js';

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
const file = (s: string, contentType = 'application/vnd.android.package-archive') => ({ sha256: sha(s), size: s.length, contentType });

function installOp(a: Artifact): TaskOp {
  return {
    kind: 'install',
    artifact: { artifactId: a.artifactId, sha256: a.sha256, size: a.size },
    packageName: 'com.example.app',
    versionCode: 7,
    versionName: '1.2',
  };
}

function pushOp(a: Artifact): TaskOp {
  return { kind: 'push', artifact: { artifactId: a.artifactId, sha256: a.sha256, size: a.size }, path: '/sdcard/Download/x.bin', mode: 0o644 };
}

const code = (c: string) => (e: unknown) => e instanceof StoreError && e.code === c;

/** A task of `op` on every instance of f, its jobs running, the first finished with `artifact`. */
async function pulled(store: Store, f: Fixture, content: string) {
  const t = await store.createTask(newTask(f, { command: 'pull /sdcard/a.txt', op: { kind: 'pull', path: '/sdcard/a.txt' } }));
  const keys = t.jobs.map((j) => j.jobKey);
  await store.markRunning(keys, Date.now());
  const artifact = { sha256: sha(content), size: content.length, contentType: 'application/octet-stream' };
  return { t, keys, artifact };
}

export function operationTests(makeStore: MakeStore): void {
  test('operations: the op round-trips through createTask, getTask, queuedJobs and queuedJobsIn; a shell task reads op null', () =>
    withStore(makeStore, async (store) => {
      const f = await tenantWithInstances(store, 2);
      const apk = await store.putArtifact(f.tenantKey, file('apk bytes'), Date.now());
      const blob = await store.putArtifact(f.tenantKey, file('blob', 'application/octet-stream'), Date.now());
      const ops: TaskOp[] = [
        installOp(apk),
        { kind: 'uninstall', packageName: 'com.example.app' },
        pushOp(blob),
        { kind: 'pull', path: '/sdcard/a.txt' },
        { kind: 'screenshot' },
      ];
      const shell = await store.createTask(newTask(f));
      const tasks: CreatedTask[] = [];
      for (const op of ops) tasks.push(await store.createTask(newTask(f, { command: `${op.kind} (described)`, op, timeoutMs: 60_000 })));

      const [install, ...others] = tasks;
      assert.match(install!.taskId, /^ZGCA[0-9a-f]{28}$/, 'an install takes a KooPhone install id');
      assert.match(install!.taskId, TASK_ID);
      for (const t of [shell, ...others]) assert.match(t.taskId, /^[0-9a-f]{32}$/);

      assert.equal((await store.getTask(f.tenantKey, shell.taskId))?.op, null);
      for (const [i, t] of tasks.entries()) {
        const v = await store.getTask(f.tenantKey, t.taskId);
        assert.ok(v, `getTask finds ${t.taskId}`);
        assert.deepEqual(v.op, ops[i]);
        assert.equal(v.command, `${ops[i]!.kind} (described)`);
        assert.equal(v.timeoutMs, 60_000);
      }
      const other = await tenantWithInstances(store, 1, 'other');
      assert.equal(await store.getTask(other.tenantKey, install!.taskId), null, 'an install task is the tenant\'s only');

      const expected = (jobs: readonly QueuedJob[]) => {
        const byTask = new Map<string, TaskOp | null>([[shell.taskId, null], ...tasks.map((t, i) => [t.taskId, ops[i]!] as const)]);
        for (const j of jobs) assert.deepEqual(j.op, byTask.get(j.taskId), `job ${j.jobKey} of ${j.taskId}`);
      };
      // Twice: SQLite answers the first from its memory of new jobs and the second from the table.
      const first = await store.queuedJobs(0, 100);
      const second = await store.queuedJobs(0, 100);
      assert.equal(first.length, 12);
      expected(first);
      assert.deepEqual(second, first);
      const some = await store.queuedJobsIn(first.filter((_, i) => i % 3 === 0).map((j) => j.jobKey));
      assert.equal(some.length, 4);
      expected(some);

      const leases = store.joinAsWorker({ workerId: `ops-${shell.taskKey}`, zones: null, leaseMs: 60_000 });
      if (leases !== null) {
        // PostgreSQL: a leased worker's reads carry the op too.
        const held = (await leases.round(Date.now())).held;
        assert.equal(held.length, 3);
        const read = await leases.readQueue(0, 100);
        assert.deepEqual(read.jobs, first);
        const of = await leases.queuedJobsOf(held, 0, first.at(-1)!.jobKey, 100);
        assert.deepEqual(of, first);
        await leases.leave();
      }
    }));

  test('operations: an install is idempotent like a command and found by its ZGCA id after the replay', () =>
    withStore(makeStore, async (store) => {
      const f = await tenantWithInstances(store, 1);
      const apk = await store.putArtifact(f.tenantKey, file('apk'), Date.now());
      const req = newTask(f, { command: 'install com.example.app 1.2', op: installOp(apk), requestId: 'inst-1', requestHash: 'h' });
      const t = await store.createTask(req);
      const again = await store.createTask(req);
      assert.equal(again.replayed, true);
      assert.equal(again.taskId, t.taskId);
      await assert.rejects(store.createTask({ ...req, requestHash: 'other' }), code('IDEMPOTENCY_CONFLICT'));
      assert.equal((await store.listTasks(f.tenantKey, 10, null)).tasks.length, 1);
      assert.deepEqual((await store.getTask(f.tenantKey, t.taskId))?.op, installOp(apk));
    }));

  test('operations: an op naming an artifact the tenant does not have is NO_ARTIFACT, and nothing is written', () =>
    withStore(makeStore, async (store) => {
      const a = await tenantWithInstances(store, 2, 'a');
      const b = await tenantWithInstances(store, 1, 'b');
      const theirs = await store.putArtifact(b.tenantKey, file('b\'s apk'), Date.now());
      const ghost: Artifact = { ...theirs, artifactId: '0'.repeat(32) };
      const refused: Array<[TaskOp, string]> = [
        [installOp(ghost), ghost.artifactId],
        [pushOp(ghost), ghost.artifactId],
        [installOp(theirs), theirs.artifactId],
      ];
      for (const [op, id] of refused) {
        await assert.rejects(store.createTask(newTask(a, { command: 'x', op })), (e: unknown) => code('NO_ARTIFACT')(e) && (e as Error).message.includes(id));
      }
      assert.deepEqual(await store.queuedJobs(0, 100), []);
      // in a shared commit, the others go through
      const outcomes = await Promise.allSettled([
        store.createTask(newTask(a)),
        store.createTask(newTask(a, { command: 'x', op: pushOp(ghost) })),
        store.createTask(newTask(a, { command: 'screenshot', op: { kind: 'screenshot' } })),
      ]);
      assert.deepEqual(outcomes.map((o) => o.status), ['fulfilled', 'rejected', 'fulfilled']);
      assert.equal((await store.listTasks(a.tenantKey, 10, null)).tasks.length, 2);
      assert.equal((await store.queuedJobs(0, 100)).length, 4);
    }));

  test('artifacts: the same bytes are the same artifact of the tenant (created once, retention restarted); tenants apart', () =>
    withStore(makeStore, async (store) => {
      const a = await tenantWithInstances(store, 1, 'a');
      const b = await tenantWithInstances(store, 1, 'b');
      const first = await store.putArtifact(a.tenantKey, file('same bytes'), 1_000);
      assert.match(first.artifactId, /^[0-9a-f]{32}$/);
      assert.equal(first.created, true);
      assert.deepEqual(
        { sha256: first.sha256, size: first.size, contentType: first.contentType, createdAt: first.createdAt },
        { ...file('same bytes'), createdAt: 1_000 },
      );
      const again = await store.putArtifact(a.tenantKey, file('same bytes'), 5_000);
      assert.deepEqual(again, { ...first, created: false }, 'the first upload\'s artifact, as it was created');
      const { created: _c, ...stored } = first;
      assert.deepEqual(await store.getArtifact(a.tenantKey, first.artifactId), stored);

      const theirs = await store.putArtifact(b.tenantKey, file('same bytes'), 2_000);
      assert.equal(theirs.created, true);
      assert.notEqual(theirs.artifactId, first.artifactId);
      assert.equal(await store.getArtifact(b.tenantKey, first.artifactId), null, 'another tenant\'s artifact reads as missing');
      assert.equal(await store.getArtifact(a.tenantKey, theirs.artifactId), null);
      assert.equal(await store.getArtifact(a.tenantKey, '0'.repeat(32)), null);

      // a's upload was used at 5,000, b's at 2,000: a purge of what is older than 3,000 takes b's only
      assert.equal(await store.purgeArtifacts(3_000, 10), 1);
      assert.ok(await store.getArtifact(a.tenantKey, first.artifactId));
      assert.equal(await store.getArtifact(b.tenantKey, theirs.artifactId), null);
      // an upload again at an earlier time does not move used_at back
      await store.putArtifact(a.tenantKey, file('same bytes'), 100);
      assert.equal(await store.purgeArtifacts(5_000, 10), 0);
      assert.equal(await store.purgeArtifacts(5_001, 10), 1);

      await assert.rejects(store.putArtifact(a.tenantKey, { ...file('x'), sha256: 'ABC' }, 1), code('INVALID_ARGUMENT'));
      await assert.rejects(store.putArtifact(a.tenantKey, { ...file('x'), size: -1 }, 1), code('INVALID_ARGUMENT'));
    }));

  test('artifacts: purgeArtifacts keeps an upload a live task names, in bounded batches, and takes it once the task is purged', () =>
    withStore(makeStore, async (store) => {
      const f = await tenantWithInstances(store, 1);
      const named = await store.putArtifact(f.tenantKey, file('named'), 1_000);
      const idle = await Promise.all(['x', 'y', 'z'].map((s, i) => store.putArtifact(f.tenantKey, file(s), 2_000 + i)));
      const t = await store.createTask(newTask(f, { command: 'push', op: pushOp(named) }));
      const later = Date.now() + 60_000;
      assert.equal(await store.purgeArtifacts(later, 2), 2, 'a batch is bounded');
      assert.equal(await store.purgeArtifacts(later, 2), 1);
      assert.equal(await store.purgeArtifacts(later, 2), 0, 'the upload the task names is kept');
      assert.equal(await store.getArtifact(f.tenantKey, idle[2]!.artifactId), null);
      assert.ok(await store.getArtifact(f.tenantKey, named.artifactId));
      await assert.rejects(store.purgeArtifacts(later, 0), code('INVALID_ARGUMENT'));

      // the task ends and is purged: the upload goes with its next purge
      await store.markRunning([t.jobs[0]!.jobKey], Date.now());
      await store.finishJobs([result(t.jobs[0]!.jobKey, '0', 'succeeded')]);
      assert.equal(await store.purgeTasks(later, 10), 1);
      assert.equal(await store.purgeArtifacts(later, 10), 1);
      assert.equal(await store.getArtifact(f.tenantKey, named.artifactId), null);
      // and a task naming it now is refused
      await assert.rejects(store.createTask(newTask(f, { command: 'push', op: pushOp(named) })), code('NO_ARTIFACT'));
    }));

  test('artifacts: a task naming an upload restarts its retention', () =>
    withStore(makeStore, async (store) => {
      const f = await tenantWithInstances(store, 1);
      const apk = await store.putArtifact(f.tenantKey, file('old apk'), 1_000);
      const t = await store.createTask(newTask(f, { command: 'install', op: installOp(apk) }));
      await store.markRunning([t.jobs[0]!.jobKey], Date.now());
      await store.finishJobs([result(t.jobs[0]!.jobKey, '0', 'succeeded')]);
      assert.equal(await store.purgeTasks(Date.now() + 60_000, 10), 1);
      // no task names it any more, but it was used when the task was created, not at 1,000
      assert.equal(await store.purgeArtifacts(t.createdAt, 10), 0);
      assert.equal(await store.purgeArtifacts(t.createdAt + 1, 10), 1);
    }));

  test('job artifacts: finishJobs records a job\'s file with its result; getJobArtifact reads it, tenant-scoped; a final job keeps its first', () =>
    withStore(makeStore, async (store) => {
      const f = await tenantWithInstances(store, 3, 'a');
      const b = await tenantWithInstances(store, 1, 'b');
      const { t, keys, artifact } = await pulled(store, f, 'pulled bytes');
      const jobId = (i: number) => t.jobs[i]!.jobId;
      assert.deepEqual(await store.getJobArtifact(f.tenantKey, t.taskId, jobId(0)), { artifact: null }, 'running: none yet');
      await store.finishJobs([
        { ...succeeded(keys[0]!, ''), artifact },
        result(keys[1]!, JobCode.DeviceRefused, 'failed', { artifact: null }),
      ]);
      assert.deepEqual(await store.getJobArtifact(f.tenantKey, t.taskId, jobId(0)), { artifact });
      assert.deepEqual(await store.getJobArtifact(f.tenantKey, t.taskId, jobId(1)), { artifact: null });
      assert.deepEqual(await store.getJobArtifact(f.tenantKey, t.taskId, jobId(2)), { artifact: null });
      assert.equal(await store.getJobArtifact(b.tenantKey, t.taskId, jobId(0)), null, 'another tenant\'s job reads as missing');
      assert.equal(await store.getJobArtifact(f.tenantKey, t.taskId, '0'.repeat(32)), null);
      assert.equal(await store.getJobArtifact(f.tenantKey, '0'.repeat(32), jobId(0)), null);

      // reported again (or after a cancel): the job and its file stay as first written
      const other = { sha256: sha('other'), size: 5, contentType: 'image/png' };
      await store.finishJobs([{ ...succeeded(keys[0]!, 'again'), artifact: other }, { ...succeeded(keys[1]!, ''), artifact: other }]);
      assert.deepEqual(await store.getJobArtifact(f.tenantKey, t.taskId, jobId(0)), { artifact });
      assert.deepEqual(await store.getJobArtifact(f.tenantKey, t.taskId, jobId(1)), { artifact: null });
      assert.deepEqual(await store.referencedBlobs([other.sha256]), new Set());
      // a bad artifact fails the whole call before anything is written
      await assert.rejects(
        store.finishJobs([succeeded(keys[2]!, 'x'), { ...succeeded(keys[2]!, ''), artifact: { ...artifact, sha256: 'nope' } }]),
        code('INVALID_ARGUMENT'),
      );
      assert.equal((await store.getTask(f.tenantKey, t.taskId))?.jobs[2]?.state, 'running');
    }));

  test('referencedBlobs: the sha256s an upload or a job\'s file names; purgeTasks takes the job artifacts with their jobs', () =>
    withStore(makeStore, async (store) => {
      const f = await tenantWithInstances(store, 2);
      const upload = await store.putArtifact(f.tenantKey, file('upload'), 1_000);
      const { t, keys, artifact } = await pulled(store, f, 'job file');
      await store.finishJobs(keys.map((k) => ({ ...succeeded(k, ''), artifact })));
      const unknown = sha('nobody');
      assert.deepEqual(await store.referencedBlobs([upload.sha256, artifact.sha256, unknown]), new Set([upload.sha256, artifact.sha256]));
      assert.deepEqual(await store.referencedBlobs([]), new Set());

      assert.equal(await store.purgeTasks(Date.now() + 60_000, 10), 1);
      assert.equal(await store.getJobArtifact(f.tenantKey, t.taskId, t.jobs[0]!.jobId), null);
      assert.deepEqual(await store.referencedBlobs([upload.sha256, artifact.sha256]), new Set([upload.sha256]));
      assert.equal(await store.purgeArtifacts(2_000, 10), 1);
      assert.deepEqual(await store.referencedBlobs([upload.sha256, artifact.sha256]), new Set());
      // many at once (the sweep asks about a directory's worth)
      const many = Array.from({ length: 2_000 }, (_, i) => sha(`f${i}`));
      await store.putArtifact(f.tenantKey, file('f1234'), 1);
      assert.deepEqual(await store.referencedBlobs(many), new Set([sha('f1234')]));
    }));
}
