// SPEC §9: requests per tenant (token bucket); 429 KOOPHONE.API.1429 with Retry-After, then recovery.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRateLimiter } from '../../src/api/index.js';
import { envelope, startApiHarness } from '../support/index.js';

test('over the limit -> 429 with Retry-After; other tenants unaffected; recovers after waiting', async () => {
  const h = await startApiHarness({ config: { rateLimitPerSecond: 1, rateLimitBurst: 3 } });
  try {
    const a = await h.tenant('a');
    const b = await h.tenant('b');
    await h.instance('a1', a.tenantId);
    for (let i = 0; i < 3; i++) {
      assert.equal((await h.call(a.token, 'GET', '/v1/instances/tasks')).statusCode, 200, `request ${i} within the burst`);
    }
    const before = await h.taskCount(a.token);
    const limited = await h.app.inject({
      method: 'POST', url: '/v1/instances/async-command',
      headers: { 'x-request-id': 'rl-1', 'x-auth-token': a.token }, payload: { command: 'ls', instance_ids: ['a1'] },
    });
    assert.equal(limited.statusCode, 429);
    assert.equal(envelope(limited).error_code, 'KOOPHONE.API.1429');
    assert.equal(limited.headers['x-request-id'], 'rl-1');
    const retry = Number(limited.headers['retry-after']);
    assert.ok(Number.isInteger(retry) && retry >= 1, `Retry-After ${String(limited.headers['retry-after'])}`);
    assert.equal(await h.taskCount(a.token), before, 'a limited request changes nothing');
    assert.equal((await h.call(b.token, 'GET', '/v1/instances/tasks')).statusCode, 200, 'per tenant');
    await sleep(retry * 1000 + 200);
    assert.equal((await h.call(a.token, 'GET', '/v1/instances/tasks')).statusCode, 200, 'recovered');
  } finally {
    await h.close();
  }
});

test('rate 0 turns the limit off', async () => {
  const h = await startApiHarness({ config: { rateLimitPerSecond: 0, rateLimitBurst: 0 } });
  try {
    const a = await h.tenant('a');
    for (let i = 0; i < 300; i++) {
      const res = await h.call(a.token, 'GET', '/v1/instances/tasks');
      assert.equal(res.statusCode, 200);
    }
  } finally {
    await h.close();
  }
});

test('token bucket: burst, refill at the configured rate, whole-second Retry-After', () => {
  const rl = createRateLimiter(2, 4);
  for (let i = 0; i < 4; i++) assert.equal(rl.take(1, 0), 0);
  assert.equal(rl.take(1, 0), 1);
  assert.equal(rl.take(2, 0), 0, 'tenants have separate buckets');
  assert.equal(rl.take(1, 500), 0, 'half a second refills one token at 2/s');
  assert.equal(rl.take(1, 500), 1);
  const slow = createRateLimiter(0.25, 1);
  assert.equal(slow.take(1, 0), 0);
  assert.equal(slow.take(1, 0), 4, 'a token every 4 s');
});
