// A lane's noted keys (lane.ts KeyQueue) against a plain array through random pushes, takes and
// give-backs that cross its chunk boundaries (4,096 keys a chunk).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyQueue } from '../../src/dispatch/lane.js';

test('KeyQueue keeps key order through pushes, takes and give-backs across chunks', () => {
  const q = new KeyQueue();
  const model: number[] = [];
  let next = 1;
  let seed = 11;
  const rand = (n: number): number => Math.floor((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 65536) % n;
  for (let step = 0; step < 3_000; step++) {
    const op = rand(10);
    if (op < 6) {
      for (let i = rand(40); i > 0; i--) {
        q.push(next);
        model.push(next++);
      }
    } else if (op < 9) {
      const n = rand(60);
      const taken = q.take(n);
      assert.deepEqual(taken, model.splice(0, n), `take ${n} at step ${step}`);
      if (rand(3) === 0) {
        // some go back (a failed read, or an unreachable lane letting its jobs go)
        const back = taken.slice(0, rand(taken.length + 1));
        q.giveBack(back);
        model.unshift(...back);
      }
    } else {
      // a large jump in keys (jobs of other instances in between)
      next += 1_000_000;
    }
    assert.equal(q.length, model.length);
  }
  assert.ok(model.length > 4_096 * 2, `the queue crossed several chunks (${model.length} keys)`);
  assert.deepEqual(q.take(model.length + 5), model);
  assert.equal(q.length, 0);
  assert.deepEqual(q.take(3), []);
});
