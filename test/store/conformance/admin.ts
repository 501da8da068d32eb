// Conformance: tenants, tokens, instances and ownership.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { StoreError } from '../../../src/store/index.js';
import { tenantWithInstances, withStore, type MakeStore } from './fixtures.js';

const hash = (s: string): Buffer => createHash('sha256').update(s).digest();

/** A StoreError with this code, naming exactly this tenant or these instances. */
function storeError(code: string, about: { tenantId?: string; instanceIds?: string[] }) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof StoreError, String(e));
    assert.equal(e.code, code);
    assert.equal(e.tenantId, about.tenantId ?? null);
    assert.deepEqual(e.instanceIds, about.instanceIds ?? []);
    for (const id of [about.tenantId, ...(about.instanceIds ?? [])]) if (id !== undefined) assert.ok(e.message.includes(id), e.message);
    return true;
  };
}
const NO_TENANT = 't_000000000000';

export function adminTests(makeStore: MakeStore): void {
  test('tenants: create, get, list', () =>
    withStore(makeStore, async (store) => {
      const a = await store.createTenant('alpha');
      const b = await store.createTenant('beta');
      assert.match(a.tenantId, /^t_[0-9a-f]{12}$/);
      assert.notEqual(a.tenantId, b.tenantId);
      assert.deepEqual(await store.getTenant(a.tenantId), a);
      assert.equal(await store.getTenant('t_000000000000'), null);
      assert.deepEqual(
        (await store.listTenants()).map((t) => t.name),
        ['alpha', 'beta'],
      );
    }));

  test('tokens: add, find, revoke by prefix', () =>
    withStore(makeStore, async (store) => {
      const t = await store.createTenant('alpha');
      await assert.rejects(store.addToken(NO_TENANT, hash('x'), 'px'), storeError('NO_TENANT', { tenantId: NO_TENANT }));
      assert.equal(await store.findToken(hash('x')), null);
      await store.addToken(t.tenantId, hash('one'), 'p1');
      await store.addToken(t.tenantId, hash('two'), 'p2');
      const p = await store.findToken(hash('one'));
      assert.ok(p);
      assert.equal(p.tenantId, t.tenantId);
      assert.ok(Number.isInteger(p.tenantKey));
      assert.deepEqual(p.tokenHash, hash('one'));
      assert.equal(await store.findToken(hash('unknown')), null);

      assert.equal(await store.revokeToken(t.tenantId, 'p1'), 1);
      assert.equal(await store.findToken(hash('one')), null);
      assert.equal(await store.revokeToken(t.tenantId, 'p1'), 0, 'already revoked');
      await assert.rejects(store.revokeToken(NO_TENANT, 'p2'), storeError('NO_TENANT', { tenantId: NO_TENANT }));
      assert.ok(await store.findToken(hash('two')), 'other token still live');
      // another tenant cannot revoke it
      const other = await store.createTenant('beta');
      assert.equal(await store.revokeToken(other.tenantId, 'p2'), 0);
      assert.ok(await store.findToken(hash('two')));
    }));

  test('instances: create, duplicate, assign, delete, re-create', () =>
    withStore(makeStore, async (store) => {
      const t = await store.createTenant('alpha');
      const base = { adbAddress: '10.0.0.1:5555', instanceName: 'one', zone: 'z1' };
      const created = await store.createInstance({ instanceId: 'a1', ...base, tenantId: null });
      await assert.rejects(
        store.createInstance({ instanceId: 'a1', ...base, adbAddress: '10.9.9.9:5555', tenantId: null }),
        storeError('INSTANCE_EXISTS', { instanceIds: ['a1'] }),
      );
      await assert.rejects(
        store.createInstance({ instanceId: 'a2', ...base, tenantId: NO_TENANT }),
        storeError('NO_TENANT', { tenantId: NO_TENANT }),
      );
      assert.equal(await store.getInstance('a2'), null);
      assert.deepEqual(await store.getInstance('a1'), created, 'createInstance returns the instance as stored');
      const assigned = await store.assignInstance('a1', t.tenantId);
      await assert.rejects(store.assignInstance('nope', t.tenantId), storeError('NO_INSTANCE', { instanceIds: ['nope'] }));
      await assert.rejects(store.assignInstance('a1', NO_TENANT), storeError('NO_TENANT', { tenantId: NO_TENANT }));
      await assert.rejects(store.assignInstance('nope', NO_TENANT), storeError('NO_INSTANCE', { instanceIds: ['nope'] }));
      await assert.rejects(store.assignInstance('nope', null), storeError('NO_INSTANCE', { instanceIds: ['nope'] }));
      const [inst] = await store.listInstances();
      assert.deepEqual(assigned, inst, 'assignInstance returns the instance as stored');
      assert.ok(inst);
      assert.equal(inst.instanceId, 'a1');
      assert.equal(inst.tenantId, t.tenantId);
      assert.equal(inst.adbAddress, '10.0.0.1:5555');
      assert.equal(inst.instanceName, 'one');
      assert.equal(inst.zone, 'z1');
      assert.ok(inst.createdAt > 0);
      assert.deepEqual(await store.getInstance('a1'), inst);
      assert.equal(await store.getInstance('nope'), null);
      assert.equal((await store.assignInstance('a1', null)).tenantId, null);
      assert.equal((await store.listInstances())[0]?.tenantId, null);

      const targets = await store.listTargets();
      assert.deepEqual(
        targets.map((x) => [x.instanceId, x.adbAddress]),
        [['a1', '10.0.0.1:5555']],
      );
      await store.deleteInstance('a1');
      await assert.rejects(store.deleteInstance('a1'), storeError('NO_INSTANCE', { instanceIds: ['a1'] }));
      assert.deepEqual(await store.listInstances(), []);
      assert.deepEqual(await store.listTargets(), []);
      assert.equal(await store.getInstance('a1'), null, 'a deleted instance is gone');
      await assert.rejects(store.assignInstance('a1', t.tenantId), storeError('NO_INSTANCE', { instanceIds: ['a1'] }));
      // the id is free again
      const again = await store.createInstance({ instanceId: 'a1', ...base, adbAddress: '10.0.0.2:5555', tenantId: t.tenantId });
      assert.equal(again.tenantId, t.tenantId);
      assert.equal((await store.listTargets())[0]?.adbAddress, '10.0.0.2:5555');
    }));

  test('createInstances: all or none; the error names every conflict; ownership and targets see the batch', () =>
    withStore(makeStore, async (store) => {
      const t = await store.createTenant('alpha');
      await store.addToken(t.tenantId, hash('bulk'), 'pb');
      const tenantKey = (await store.findToken(hash('bulk')))!.tenantKey;
      await store.createInstance({ instanceId: 'old', adbAddress: '10.0.0.1:5555', instanceName: 'old', zone: 'z', tenantId: null });
      const entry = (id: string, n: number, tenantId: string | null = t.tenantId) => ({
        instanceId: id,
        adbAddress: `10.1.0.${n}:5555`,
        instanceName: `name ${id}`,
        zone: 'z2',
        tenantId,
      });

      // An existing id and a repeat within the batch: both named, nothing registered.
      await assert.rejects(
        store.createInstances([entry('n1', 1), entry('old', 2), entry('n2', 3), entry('n1', 4)]),
        storeError('INSTANCE_EXISTS', { instanceIds: ['old', 'n1'] }),
      );
      await assert.rejects(store.createInstances([entry('n1', 1), entry('n3', 5, NO_TENANT)]), storeError('NO_TENANT', { tenantId: NO_TENANT }));
      assert.deepEqual((await store.listInstances()).map((i) => i.instanceId), ['old'], 'a refused batch registers none');
      assert.deepEqual(await store.ownedInstances(tenantKey, ['n1', 'n2']), []);
      assert.deepEqual(await store.instanceTargets(['n1', 'n2']), []);

      const batch = Array.from({ length: 500 }, (_, n) => entry(`b${String(n).padStart(3, '0')}`, n, n % 2 === 0 ? t.tenantId : null));
      const created = await store.createInstances(batch);
      assert.equal(created.length, 500);
      assert.deepEqual(created[1], { ...batch[1], createdAt: created[1]!.createdAt });
      assert.deepEqual(await store.getInstance('b001'), created[1], 'returned as stored');
      assert.equal((await store.listInstances()).length, 501);
      const owned = await store.ownedInstances(tenantKey, ['b000', 'b001', 'b002']);
      assert.deepEqual(owned.map((o) => [o.instanceId, o.adbAddress]), [['b000', '10.1.0.0:5555'], ['b002', '10.1.0.2:5555']]);
      const targets = await store.instanceTargets(['b499', 'ghost', 'old']);
      assert.deepEqual(targets.map((o) => [o.instanceId, o.adbAddress]), [['b499', '10.1.0.499:5555'], ['old', '10.0.0.1:5555']]);
      assert.deepEqual(await store.createInstances([]), []);
    }));

  test('instance changes are told once per commit, with the ids; instanceTargets reads them back', () =>
    withStore(makeStore, async (store) => {
      const t = await store.createTenant('alpha');
      const told: string[][] = [];
      const off = store.changes.onInstancesChanged((c) => told.push([...c.instanceIds]));
      const base = { adbAddress: '10.0.0.1:5555', instanceName: 'one', zone: 'z1', tenantId: null };
      await store.createInstance({ instanceId: 'a1', ...base });
      await store.createInstances([{ instanceId: 'a2', ...base }, { instanceId: 'a3', ...base }]);
      await store.assignInstance('a2', t.tenantId);
      await store.deleteInstance('a3');
      await assert.rejects(store.createInstance({ instanceId: 'a1', ...base }));
      await assert.rejects(store.createInstances([{ instanceId: 'a4', ...base }, { instanceId: 'a1', ...base }]));
      await assert.rejects(store.deleteInstance('a3'));
      assert.deepEqual(told, [['a1'], ['a2', 'a3'], ['a2'], ['a3']], 'refused changes are not told');
      assert.deepEqual((await store.instanceTargets(['a3', 'a2'])).map((x) => x.instanceId), ['a2'], 'a removed instance is not found');
      off();
      await store.createInstance({ instanceId: 'a5', ...base });
      assert.equal(told.length, 4, 'unsubscribed');
    }));

  test('ownership: ownedInstances returns only the tenant\'s live instances', () =>
    withStore(makeStore, async (store) => {
      const a = await tenantWithInstances(store, 3, 'a');
      const b = await tenantWithInstances(store, 2, 'b');
      const [a0, a1, a2] = a.instanceIds as [string, string, string];
      const owned = await store.ownedInstances(a.tenantKey, [a0, a1, ...b.instanceIds, 'ghost']);
      assert.deepEqual(owned.map((o) => o.instanceId).sort(), [a0, a1].sort());
      for (const o of owned) {
        assert.ok(Number.isInteger(o.instanceKey));
        assert.match(o.adbAddress, /^127\.0\.0\.1:\d+$/);
      }
      await store.deleteInstance(a2);
      assert.deepEqual(await store.ownedInstances(a.tenantKey, [a2]), []);
      assert.deepEqual(await store.ownedInstances(a.tenantKey, []), []);
    }));

  test('pageInstances: ordered by instance_id, filters, total', () =>
    withStore(makeStore, async (store) => {
      const t = await store.createTenant('alpha');
      const other = await tenantWithInstances(store, 2, 'other');
      const ids = ['c3', 'a1', 'b2', 'e5', 'd4'];
      for (const [i, id] of ids.entries()) {
        await store.createInstance({
          instanceId: id,
          adbAddress: `127.0.0.1:${6000 + i}`,
          instanceName: id.startsWith('a') || id.startsWith('d') ? `Web Phone ${id}` : `db ${id}`,
          zone: 'z',
          tenantId: t.tenantId,
        });
      }
      const hash = createHash('sha256').update('page').digest();
      await store.addToken(t.tenantId, hash, 'pg');
      const p = await store.findToken(hash);
      assert.ok(p);
      const page1 = await store.pageInstances(p.tenantKey, { pageNo: 1, pageSize: 2 });
      assert.deepEqual(page1.items.map((i) => i.instanceId), ['a1', 'b2']);
      assert.equal(page1.total, 5);
      const page3 = await store.pageInstances(p.tenantKey, { pageNo: 3, pageSize: 2 });
      assert.deepEqual(page3.items.map((i) => i.instanceId), ['e5']);
      const beyond = await store.pageInstances(p.tenantKey, { pageNo: 9, pageSize: 2 });
      assert.deepEqual(beyond, { items: [], total: 5 });
      const exact = await store.pageInstances(p.tenantKey, { pageNo: 1, pageSize: 10, instanceId: 'd4' });
      assert.deepEqual(exact.items.map((i) => i.instanceId), ['d4']);
      assert.equal(exact.total, 1);
      assert.equal((await store.pageInstances(p.tenantKey, { pageNo: 1, pageSize: 10, instanceId: 'd' })).total, 0);
      const byName = await store.pageInstances(p.tenantKey, { pageNo: 1, pageSize: 10, instanceName: 'web phone' });
      assert.deepEqual(byName.items.map((i) => i.instanceId), ['a1', 'd4']);
      assert.equal(byName.items[0]?.tenantId, t.tenantId);
      // another tenant's instances never show
      const none = await store.pageInstances(p.tenantKey, { pageNo: 1, pageSize: 10, instanceId: other.instanceIds[0] as string });
      assert.deepEqual(none, { items: [], total: 0 });
    }));
}
