// The ids core/ids.ts mints: their shapes, and that they do not repeat.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HEX_ID, newHexId, newHexIds, newRequestId, newTenantId } from '../../src/core/index.js';

test('task and job ids are 32 hex characters, one at a time or a task\'s worth at once', () => {
  assert.match(newHexId(), HEX_ID);
  const batch = newHexIds(100);
  assert.equal(batch.length, 100);
  for (const id of batch) assert.match(id, HEX_ID);
  assert.equal(new Set(batch).size, 100);
  assert.deepEqual(newHexIds(0), []);
});

const TENANT_ID = /^t_[0-9a-f]{12}$/;

test('tenant ids are t_ and 12 hex characters, and differ', () => {
  const ids = Array.from({ length: 50 }, newTenantId);
  for (const id of ids) assert.match(id, TENANT_ID);
  assert.equal(new Set(ids).size, 50);
});

test('request ids minted for requests without one are UUIDs', () => {
  const a = newRequestId();
  assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.notEqual(a, newRequestId());
});
