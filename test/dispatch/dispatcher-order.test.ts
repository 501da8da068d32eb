// Scheduling as the simulator's journal saw it: FIFO per instance, never overlapping, the global
// bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JournalEntry } from '../../src/sim/index.js';
import type { CreatedTask } from '../../src/store/index.js';
import { fixture } from './setup.js';

/** Most commands running at one moment, from journal intervals. */
function maxOverlap(entries: readonly JournalEntry[]): number {
  const points: [number, number][] = [];
  for (const e of entries) {
    assert.ok(e.endedAt !== null, `${e.command} still running`);
    points.push([e.startedAt, 1], [e.endedAt, -1]);
  }
  // Ends before starts at the same millisecond: back-to-back is not overlap.
  points.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let max = 0;
  for (const [, d] of points) max = Math.max(max, (now += d));
  return max;
}

test('each instance runs its jobs in submission order, one at a time', async () => {
  const f = await fixture({ count: 3 });
  try {
    const tasks: CreatedTask[] = [];
    // Interleaved tasks over overlapping instance sets, all submitted before any can finish.
    for (let i = 0; i < 12; i++) {
      const targets = f.ids.filter((_, k) => (i + k) % 3 !== 0);
      tasks.push(await f.submit(`sleep 0.0${i % 3 + 1}`, targets));
      tasks.push(await f.submit(`echo n${i}`, f.ids));
    }
    for (const t of tasks) await f.finish(t);
    for (const [k, inst] of f.fleet.instances.entries()) {
      const expected = tasks.filter((t) => t.jobs.some((j) => j.instanceId === f.ids[k])).map((t) => t.command);
      const journal = inst.journal();
      assert.deepEqual(
        journal.map((e) => e.command),
        expected,
        `order on ${f.ids[k]}`,
      );
      assert.equal(maxOverlap(journal), 1, `overlap on ${f.ids[k]}`);
      assert.ok(journal.every((e) => e.end === 'exit'));
    }
  } finally {
    await f.close();
  }
});

test('perInstanceConcurrency 2 lets two jobs of one instance run together, never three', async () => {
  const f = await fixture({ count: 1, config: { perInstanceConcurrency: 2 } });
  try {
    const tasks: CreatedTask[] = [];
    for (let i = 0; i < 6; i++) tasks.push(await f.submit('sleep 0.3', [f.ids[0]!]));
    for (const t of tasks) await f.finish(t);
    assert.equal(maxOverlap(f.fleet.instances[0]!.journal()), 2);
  } finally {
    await f.close();
  }
});

test('the global bound caps jobs running at once across instances', async () => {
  const f = await fixture({ count: 6, config: { globalConcurrency: 2 } });
  try {
    const task = await f.submit('sleep 0.3', f.ids);
    const jobs = await f.finish(task);
    assert.ok(jobs.every((j) => j.state === 'succeeded'));
    const all = f.fleet.journal();
    assert.equal(all.length, 6);
    assert.equal(maxOverlap(all), 2);
  } finally {
    await f.close();
  }
});
