// The tenants' rate limit shared through PostgreSQL (src/store/postgres/rate-limit.ts): two
// Store objects on one schema are two API nodes drawing on one bucket per tenant.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { createSqliteStore } from '../../src/store/index.js';
import { freshPostgres, PgOpened, postgresSkipReason } from '../support/postgres.js';

const pgs = new PgOpened();
after(() => pgs.close());


describe('PostgreSQL shared rate limit', { skip: postgresSkipReason ?? false }, () => {
  test('two nodes draw on one bucket per tenant: the burst once between them, then the rate', async () => {
    const at = await freshPostgres();
    const [a, b] = [(await pgs.store(at)).sharedRateLimiter(1, 3)!, (await pgs.store(at)).sharedRateLimiter(1, 3)!];
    const began = Date.now();
    const waits: number[] = [];
    for (let i = 0; i < 8; i++) waits.push(await (i % 2 === 0 ? a : b).take(7));
    const seconds = (Date.now() - began) / 1000;
    const allowed = waits.filter((w) => w === 0).length;
    assert.deepEqual(waits.slice(0, 3), [0, 0, 0], 'the burst');
    // Per node, each would have let 3 through: 6. Shared, the burst and what refilled meanwhile.
    assert.ok(allowed <= 3 + Math.floor(seconds) + 1, `${allowed} allowed in ${seconds} s`);
    assert.ok(waits.filter((w) => w > 0).every((w) => w >= 1), 'a refusal says to wait at least a second');
    assert.equal(await b.take(8), 0, "another tenant's bucket is its own");
  });

  test('a limit of 0 is off; SQLite shares nothing (its process owns the API)', async () => {
    const at = await freshPostgres();
    const off = (await pgs.store(at)).sharedRateLimiter(0, 0)!;
    for (let i = 0; i < 5; i++) assert.equal(await off.take(1), 0);
    const sqlite = createSqliteStore({ path: ':memory:' });
    await sqlite.open();
    try {
      assert.equal(sqlite.sharedRateLimiter(1, 1), null);
    } finally {
      await sqlite.close();
    }
  });
});
