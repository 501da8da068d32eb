// Helpers shared by the conformance suite: a tenant with instances, and worker results.
import { createHash } from 'node:crypto';
import type { JobCode, JobState } from '../../../src/core/job-state.js';
import type { JobResult, NewTask, Store } from '../../../src/store/index.js';

export type MakeStore = () => Promise<Store>;

export interface Fixture {
  tenantId: string;
  tenantKey: number;
  instanceIds: string[];
}

let seq = 0;

/** A tenant with a live token and `count` instances of its own (ids unique across the test run). */
export async function tenantWithInstances(store: Store, count: number, name = 'acme'): Promise<Fixture> {
  const t = await store.createTenant(name);
  const hash = createHash('sha256').update(`token-${t.tenantId}`).digest();
  await store.addToken(t.tenantId, hash, `tk_${t.tenantId.slice(2, 8)}`);
  const p = await store.findToken(hash);
  if (p === null) throw new Error('fixture token not found');
  const instanceIds: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = `i${++seq}-${t.tenantId.slice(2, 8)}`;
    await store.createInstance({
      instanceId: id,
      adbAddress: `127.0.0.1:${5555 + i}`,
      instanceName: `phone ${i}`,
      zone: 'zone-a',
      tenantId: t.tenantId,
    });
    instanceIds.push(id);
  }
  return { tenantId: t.tenantId, tenantKey: p.tenantKey, instanceIds };
}

export function newTask(f: Fixture, extra: Partial<NewTask> = {}): NewTask {
  return { tenantKey: f.tenantKey, command: 'echo hi', timeoutMs: 300_000, kind: 'async', instanceIds: f.instanceIds, ...extra };
}

export function result(jobKey: number, code: JobCode, state: JobState, extra: Partial<JobResult> = {}): JobResult {
  return {
    jobKey,
    state,
    errorCode: code,
    errorMsg: code === '0' ? 'ok' : 'failed',
    exitCode: code === '0' ? 0 : null,
    executeMsg: '',
    outputBytes: 0,
    outputTruncated: false,
    finishedAt: Date.now(),
    output: null,
    ...extra,
  };
}

export function succeeded(jobKey: number, out: string): JobResult {
  const b = Buffer.from(out);
  return result(jobKey, '0', 'succeeded', {
    executeMsg: out,
    outputBytes: b.length,
    output: { stdout: b, stderr: Buffer.alloc(0), combined: b },
  });
}

/** Runs fn against a fresh store and always closes it. */
export async function withStore(makeStore: MakeStore, fn: (store: Store) => Promise<void>): Promise<void> {
  const store = await makeStore();
  try {
    await fn(store);
  } finally {
    await store.close();
  }
}
