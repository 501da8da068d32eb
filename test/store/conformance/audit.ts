// Conformance: the audit log (append, filters, paging, purge).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StoreError, type AuditEntry, type Store } from '../../../src/store/index.js';
import { withStore, type MakeStore } from './fixtures.js';

/** An entry at `at`, the rest plausible; `extra` overrides. */
export function auditEntry(at: number, extra: Partial<AuditEntry> = {}): AuditEntry {
  return {
    at,
    actor: 't_0123456789ab',
    tokenPrefix: 'afk_AbCdEfGh',
    source: '127.0.0.1',
    requestId: `req-${at}`,
    action: 'command.submit',
    targets: { instanceIds: ['a', 'b'] },
    outcome: { status: 200, errorCode: '0', taskId: '0123456789abcdef0123456789abcdef', replayed: false },
    ...extra,
  };
}

/** Every page of a listing, following the cursors: the entries' request ids, page by page. */
async function pages(store: Store, query: Parameters<Store['listAudit']>[0], limit: number): Promise<string[][]> {
  const out: string[][] = [];
  let cursor: string | null = null;
  do {
    const page: Awaited<ReturnType<Store['listAudit']>> = await store.listAudit(query, limit, cursor);
    out.push(page.entries.map((e) => e.requestId));
    cursor = page.nextCursor;
  } while (cursor !== null);
  return out;
}

const code = (c: string) => (e: unknown) => e instanceof StoreError && e.code === c;

export function auditTests(makeStore: MakeStore): void {
  test('audit: appended entries read back whole, newest first, with increasing ids', () =>
    withStore(makeStore, async (store) => {
      const refused = auditEntry(1_000, {
        actor: null,
        tokenPrefix: null,
        source: '::1',
        requestId: 'r-refused',
        action: 'instance.assign',
        targets: { instanceId: 'phone-1', tenantId: null },
        outcome: { status: 401, errorCode: 'APIGW.0301', taskId: null, replayed: false },
      });
      const ok = auditEntry(2_000, { requestId: 'r-ok', targets: { instanceIds: ['x'], instanceCount: 150, taskId: 'f'.repeat(32) } });
      const replay = auditEntry(3_000, { requestId: 'r-ok', outcome: { status: 200, errorCode: '0', taskId: 'f'.repeat(32), replayed: true } });
      // Appended in the same turn, as the API's hooks do: both resolve once committed.
      await Promise.all([store.appendAudit(refused), store.appendAudit(ok), store.appendAudit(replay)]);
      const { entries, nextCursor } = await store.listAudit({}, 10, null);
      assert.equal(nextCursor, null);
      assert.deepEqual(entries.map(({ id: _id, ...rest }) => rest), [replay, ok, refused]);
      assert.ok(entries[0]!.id > entries[1]!.id && entries[1]!.id > entries[2]!.id);
    }));

  test('audit: each filter, and filters together, match exactly', () =>
    withStore(makeStore, async (store) => {
      await store.appendAudit(auditEntry(1_000, { requestId: 'a1', actor: 't_aaaaaaaaaaaa', action: 'command.submit' }));
      await store.appendAudit(auditEntry(2_000, { requestId: 'a2', actor: 't_aaaaaaaaaaaa', action: 'task.cancel' }));
      await store.appendAudit(auditEntry(3_000, { requestId: 'b1', actor: 't_bbbbbbbbbbbb', action: 'command.submit' }));
      await store.appendAudit(auditEntry(4_000, { requestId: 'adm', actor: 'admin', action: 'tenant.create' }));
      await store.appendAudit(auditEntry(5_000, { requestId: 'anon', actor: null, action: 'command.submit' }));
      const ids = async (q: Parameters<Store['listAudit']>[0]) => (await store.listAudit(q, 100, null)).entries.map((e) => e.requestId);
      assert.deepEqual(await ids({}), ['anon', 'adm', 'b1', 'a2', 'a1']);
      assert.deepEqual(await ids({ actor: 't_aaaaaaaaaaaa' }), ['a2', 'a1']);
      assert.deepEqual(await ids({ actor: 'admin' }), ['adm']);
      assert.deepEqual(await ids({ action: 'command.submit' }), ['anon', 'b1', 'a1']);
      assert.deepEqual(await ids({ requestId: 'b1' }), ['b1']);
      assert.deepEqual(await ids({ since: 2_000 }), ['anon', 'adm', 'b1', 'a2'], 'since is inclusive');
      assert.deepEqual(await ids({ until: 2_000 }), ['a1'], 'until is exclusive');
      assert.deepEqual(await ids({ since: 2_000, until: 4_000 }), ['b1', 'a2']);
      assert.deepEqual(await ids({ actor: 't_aaaaaaaaaaaa', action: 'command.submit' }), ['a1']);
      assert.deepEqual(await ids({ action: 'command.submit', since: 1_001, until: 5_000 }), ['b1']);
      assert.deepEqual(await ids({ requestId: 'nothing' }), []);
    }));

  test('audit: pages follow each other without gaps or repeats, with and without filters', () =>
    withStore(makeStore, async (store) => {
      for (let i = 1; i <= 7; i++) {
        await store.appendAudit(auditEntry(i * 1_000, { requestId: `r${i}`, action: i % 2 === 0 ? 'task.cancel' : 'command.submit' }));
      }
      assert.deepEqual(await pages(store, {}, 3), [['r7', 'r6', 'r5'], ['r4', 'r3', 'r2'], ['r1']]);
      assert.deepEqual(await pages(store, {}, 7), [['r7', 'r6', 'r5', 'r4', 'r3', 'r2', 'r1']], 'a full last page says so');
      assert.deepEqual(await pages(store, { action: 'command.submit' }, 2), [['r7', 'r5'], ['r3', 'r1']]);
      assert.deepEqual(await pages(store, { action: 'task.cancel', until: 6_000 }, 1), [['r4'], ['r2']]);
      // A page read while entries are appended: the next one goes on below the cursor.
      const first = await store.listAudit({}, 2, null);
      await store.appendAudit(auditEntry(8_000, { requestId: 'r8' }));
      const second = await store.listAudit({}, 2, first.nextCursor);
      assert.deepEqual(second.entries.map((e) => e.requestId), ['r5', 'r4']);
    }));

  test('audit: a cursor the store did not produce and a limit below 1 are refused', () =>
    withStore(makeStore, async (store) => {
      await store.appendAudit(auditEntry(1_000));
      for (const bad of ['', 'x', 'MA', '!!!', Buffer.from('12 ').toString('base64url'), Buffer.from('-1').toString('base64url')]) {
        await assert.rejects(store.listAudit({}, 10, bad), code('INVALID_CURSOR'), JSON.stringify(bad));
      }
      await assert.rejects(store.listAudit({}, 0, null), code('INVALID_ARGUMENT'));
      await assert.rejects(store.listAudit({}, 1.5, null), code('INVALID_ARGUMENT'));
    }));

  test('purgeAudit: entries before the cut-off, oldest first, in batches; ids are never reused', () =>
    withStore(makeStore, async (store) => {
      for (let i = 1; i <= 5; i++) await store.appendAudit(auditEntry(i * 1_000, { requestId: `r${i}` }));
      await assert.rejects(store.purgeAudit(10_000, 0), code('INVALID_ARGUMENT'));
      assert.equal(await store.purgeAudit(1_000, 10), 0, 'nothing before the first');
      assert.equal(await store.purgeAudit(4_000, 2), 2);
      assert.deepEqual((await store.listAudit({}, 10, null)).entries.map((e) => e.requestId), ['r5', 'r4', 'r3']);
      assert.equal(await store.purgeAudit(4_000, 2), 1);
      assert.equal(await store.purgeAudit(4_000, 2), 0);
      const lastId = (await store.listAudit({}, 1, null)).entries[0]!.id;
      assert.equal(await store.purgeAudit(Number.MAX_SAFE_INTEGER, 10), 2);
      assert.deepEqual((await store.listAudit({}, 10, null)).entries, []);
      await store.appendAudit(auditEntry(6_000, { requestId: 'r6' }));
      assert.ok((await store.listAudit({}, 1, null)).entries[0]!.id > lastId, 'an emptied log does not hand out old ids again');
    }));
}
