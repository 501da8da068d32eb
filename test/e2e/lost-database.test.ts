// The database lost under a running service (deleted with its -wal and -shm, or truncated to 0
// bytes): /readyz answers 503 within seconds, and a restart on that data directory is refused with
// a message that says what is missing and what to do, instead of starting on an empty database.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { truncateSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { startService } from '../../src/cli/service.js';
import { request, startServiceHarness, until, type ServiceHarness } from '../support/index.js';

const readyz = async (h: ServiceHarness): Promise<number> => (await request(h.url, 'GET', '/readyz', undefined, {})).status;

/** Loses the database with `lose`, then checks /readyz and a restart; returns ms to the first 503. */
async function afterLoss(lose: (db: string) => void, refusedFor: RegExp): Promise<number> {
  const h = await startServiceHarness({ instances: 2 });
  try {
    const r = await h.call('POST', '/v1/instances/async-command', { command: 'echo kept', instance_ids: h.ids });
    assert.equal(r.status, 200);
    await h.waitTask(r.body.data.task_id);
    assert.equal(await readyz(h), 200);

    const db = join(h.service.config.dataDir, 'adbfleet.db');
    lose(db);
    const lostAt = Date.now();
    await until('/readyz to answer 503', async () => (await readyz(h)) === 503, 5_000, 50);
    const ms = Date.now() - lostAt;
    assert.equal((await request(h.url, 'GET', '/healthz', undefined, {})).status, 200, 'the process itself is alive');

    await h.service.close().catch(() => {});
    const restart = startService(h.service.config, pino({ level: 'silent' }));
    restart.then((s) => s.close(), () => {});
    await assert.rejects(restart, (e: Error) => {
      assert.match(e.message, refusedFor);
      assert.ok(e.message.includes(db), e.message);
      assert.match(e.message, /restore adbfleet\.db from a backup .* or remove .*adbfleet\.db\.id( and .*adbfleet\.db\.damaged)? to start with an empty database/);
      return true;
    });
    return ms;
  } finally {
    await h.close().catch(() => {});
  }
}

test('a normal service: /readyz stays 200 while it works', async () => {
  const h = await startServiceHarness({ instances: 2 });
  try {
    const r = await h.call('POST', '/v1/instances/async-command', { command: 'sleep 1', instance_ids: h.ids });
    assert.equal(r.status, 200);
    const until3s = Date.now() + 3_000;
    while (Date.now() < until3s) {
      assert.equal(await readyz(h), 200);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await h.waitTask(r.body.data.task_id);
  } finally {
    await h.close();
  }
});

test('adbfleet.db, -wal and -shm deleted under a running service: /readyz 503 within seconds, restart refused', async (t) => {
  const ms = await afterLoss((db) => {
    for (const f of [db, `${db}-wal`, `${db}-shm`]) unlinkSync(f);
  }, /adbfleet\.db is missing/);
  t.diagnostic(`/readyz answered 503 ${ms} ms after the deletion`);
  assert.ok(ms < 3_000, `${ms} ms`);
});

test('adbfleet.db truncated to 0 bytes under a running service: /readyz 503 within seconds, restart refused', async (t) => {
  const ms = await afterLoss((db) => truncateSync(db, 0), /adbfleet\.db was damaged while the service ran .*is empty \(0 bytes\)/);
  t.diagnostic(`/readyz answered 503 ${ms} ms after the truncation`);
  assert.ok(ms < 3_000, `${ms} ms`);
});
