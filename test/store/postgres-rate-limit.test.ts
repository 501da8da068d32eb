// The tenants' rate limit shared through PostgreSQL (src/store/postgres/rate-limit.ts): two
// Store objects on one schema are two API nodes drawing on one bucket per tenant.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createSqliteStore } from '../../src/store/index.js';
import { blockSize } from '../../src/store/postgres/rate-limit.js';
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

  test('a node takes tokens in blocks of a tenth of a second and spends them itself; the others see them gone', async () => {
    const at = await freshPostgres();
    const raw = await pgs.client(at);
    const row = async (tenant: number) => (await raw.query<{ tokens: number; at: number; taken: number }>('SELECT tokens, at, taken FROM rate_buckets WHERE tenant = $1', [tenant])).rows[0];
    assert.equal(blockSize(100, 200), 10, "the default limit's block");
    assert.equal(blockSize(5, 10), 1, 'below 10/s the bucket is taken a token at a time');
    assert.equal(blockSize(100_000, 1_000_000), 20, 'at most 20');
    assert.equal(blockSize(1_000, 3), 3, 'at most the burst');
    const [fast, other] = [(await pgs.store(at)).sharedRateLimiter(100, 30)!, (await pgs.store(at)).sharedRateLimiter(100, 30)!];
    assert.equal(await fast.take(1), 0);
    const first = await row(1);
    assert.equal(first?.taken, 10, 'the first take took a block');
    assert.ok(first.tokens >= 20 && first.tokens < 21, `30 - 10 left: ${first.tokens}`);
    for (let i = 0; i < 9; i++) assert.equal(await fast.take(1), 0);
    assert.equal((await row(1))?.at, first.at, 'the block was spent without the database');
    assert.equal(await other.take(1), 0, 'another node takes its own block');
    const second = await row(1);
    assert.ok(second!.at > first.at && second!.tokens < first.tokens, 'from what the first left');
    // 500 tokens a second in blocks of 20, 30 at once: over 40 requests alternating between two
    // nodes, no more than the burst and what refilled meanwhile, though each node holds blocks.
    const nodes = [(await pgs.store(at)).sharedRateLimiter(500, 30)!, (await pgs.store(at)).sharedRateLimiter(500, 30)!];
    const began = Date.now();
    let allowed = 0;
    for (let i = 0; i < 40; i++) if ((await nodes[i % 2]!.take(2)) === 0) allowed++;
    const seconds = (Date.now() - began) / 1000;
    assert.ok(allowed >= 30, `the burst at least: ${allowed}`);
    assert.ok(allowed <= 30 + Math.ceil(500 * seconds), `${allowed} allowed in ${seconds} s`);
  });

  test("a node's unspent tokens are dropped after a second: the next request takes a new block", async () => {
    const at = await freshPostgres();
    const raw = await pgs.client(at);
    const node = (await pgs.store(at)).sharedRateLimiter(100, 200)!;
    const atOf = async () => (await raw.query<{ at: number }>('SELECT at FROM rate_buckets WHERE tenant = 3')).rows[0]!.at;
    assert.equal(await node.take(3), 0);
    const took = await atOf();
    assert.equal(await node.take(3), 0);
    assert.equal(await atOf(), took, 'spent from the block in hand');
    await sleep(1_100);
    assert.equal(await node.take(3), 0);
    assert.ok((await atOf()) > took, 'a new block, the old one dropped');
  });

  test('past the limit a node refuses by itself until the bucket can hold a token again', async () => {
    const at = await freshPostgres();
    const raw = await pgs.client(at);
    const node = (await pgs.store(at)).sharedRateLimiter(0.5, 1)!;
    assert.equal(await node.take(4), 0);
    const before = (await raw.query<{ at: number }>('SELECT at FROM rate_buckets WHERE tenant = 4')).rows[0]!.at;
    const waits = [await node.take(4), await node.take(4), await node.take(4)];
    assert.ok(waits.every((w) => w >= 1 && w <= 2), `refused for the 2 s a token takes at 0.5/s: ${waits.join(',')}`);
    assert.equal((await raw.query<{ at: number }>('SELECT at FROM rate_buckets WHERE tenant = 4')).rows[0]!.at, before, 'refusals write nothing');
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
