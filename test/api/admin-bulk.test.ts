// POST /admin/v1/instances/bulk: up to 10,000 instances in one transaction, all or none, with the
// entries at fault named by index and id.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { LIMITS } from '../../src/core/index.js';
import { type ApiHarness, envelope, SettableMonitor, startApiHarness } from '../support/index.js';

let h: ApiHarness;

before(async () => {
  h = await startApiHarness({ monitor: new SettableMonitor() });
});
after(async () => {
  await h.close();
});

const entry = (id: string, n: number, extra: Record<string, unknown> = {}) => ({ instance_id: id, adb_address: `10.2.${n >> 8}.${n & 255}:5555`, ...extra });
const registered = async (): Promise<string[]> =>
  ((await h.admin('GET', '/instances')).json() as { instances: { instance_id: string }[] }).instances.map((i) => i.instance_id);

test('bulk: registers every entry with the single endpoint\'s defaults; the owner sees its instances', async () => {
  const t = await h.tenant('bulk-owner');
  const told: string[][] = [];
  const off = h.store.changes.onInstancesChanged((c) => told.push([...c.instanceIds]));
  const res = await h.admin('POST', '/instances/bulk', {
    instances: [entry('bk-1', 1, { tenant_id: t.tenantId }), entry('bk-2', 2, { tenant_id: t.tenantId, instance_name: 'Two', zone: 'eu' }), entry('bk-3', 3)],
  });
  off();
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(res.json(), { registered: 3 });
  assert.deepEqual(told, [['bk-1', 'bk-2', 'bk-3']], 'one notice for the batch');
  const list = ((await h.admin('GET', '/instances')).json() as { instances: Record<string, unknown>[] }).instances;
  const pick = (id: string) => {
    const i = list.find((x) => x['instance_id'] === id)!;
    return [i['adb_address'], i['instance_name'], i['zone'], i['tenant_id']];
  };
  assert.deepEqual(pick('bk-1'), ['10.2.0.1:5555', 'bk-1', 'local', t.tenantId]);
  assert.deepEqual(pick('bk-2'), ['10.2.0.2:5555', 'Two', 'eu', t.tenantId]);
  assert.deepEqual(pick('bk-3'), ['10.2.0.3:5555', 'bk-3', 'local', null]);
  const owned = await h.call(t.token, 'POST', '/v1/instances/batch-query-status', { instance_ids: ['bk-1', 'bk-2'] });
  assert.equal(owned.statusCode, 200, owned.body);
});

test('bulk: more than 64 KiB is accepted (10,000 entries), past 8 MiB is a 413 naming the bulk limit', async () => {
  const instances = Array.from({ length: LIMITS.instancesPerBulk }, (_, n) => entry(`big-${n}`, n));
  assert.ok(JSON.stringify({ instances }).length > LIMITS.bodyBytes);
  const res = await h.admin('POST', '/instances/bulk', { instances });
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(res.json(), { registered: LIMITS.instancesPerBulk });
  const names = await registered();
  assert.ok(names.includes('big-0') && names.includes(`big-${LIMITS.instancesPerBulk - 1}`));

  const pad = 'x'.repeat(LIMITS.nameChars);
  const huge = Array.from({ length: Math.ceil(LIMITS.bulkBodyBytes / 150) }, (_, n) => entry(`h${n}`, n, { instance_name: pad }));
  const tooLarge = await h.admin('POST', '/instances/bulk', { instances: huge });
  assert.equal(tooLarge.statusCode, 413);
  assert.deepEqual(envelope(tooLarge), { error_code: 'KOOPHONE.API.1000', error_msg: 'body: larger than 8192 KiB' });
  const small = await h.admin('POST', '/instances', { instance_id: 'small', adb_address: '10.3.0.1:5555', instance_name: pad.repeat(600).slice(0, 70_000) });
  assert.equal(small.statusCode, 413, 'the single endpoint keeps its 64 KiB');
  assert.equal(envelope(small).error_msg, 'body: larger than 64 KiB');
});

test('bulk: bad addresses, repeated ids and existing ids are named by index and id; nothing is registered', async () => {
  await h.admin('POST', '/instances', { instance_id: 'taken', adb_address: '10.9.0.1:5555' });
  const before = await registered();

  const badAddr = await h.admin('POST', '/instances/bulk', {
    instances: [entry('ba-0', 0), { instance_id: 'ba-1', adb_address: 'no-port' }, entry('ba-2', 2), { instance_id: 'ba-3', adb_address: '10.0.0.1:0' }],
  });
  assert.equal(badAddr.statusCode, 400);
  assert.deepEqual(envelope(badAddr), {
    error_code: 'KOOPHONE.API.1000',
    error_msg: 'instances: adb_address must be host:port or adb-server://host:port/serial in entries [1] ba-1, [3] ba-3',
  });

  const repeated = await h.admin('POST', '/instances/bulk', { instances: [entry('r-0', 0), entry('r-1', 1), entry('r-0', 2), entry('r-1', 3)] });
  assert.equal(repeated.statusCode, 400);
  assert.equal(envelope(repeated).error_msg, 'instances: instance_id repeats an earlier entry in entries [2] r-0, [3] r-1');

  const exists = await h.admin('POST', '/instances/bulk', { instances: [entry('e-0', 0), entry('taken', 1), entry('e-2', 2)] });
  assert.equal(exists.statusCode, 409);
  assert.deepEqual(envelope(exists), { error_code: 'KOOPHONE.API.1000', error_msg: 'instances: instance_id already exists in entries [1] taken' });

  const many = Array.from({ length: 13 }, (_, n) => ({ instance_id: `m-${n}`, adb_address: 'nope' }));
  const capped = await h.admin('POST', '/instances/bulk', { instances: many });
  assert.equal(
    envelope(capped).error_msg,
    `instances: adb_address must be host:port or adb-server://host:port/serial in entries ${many
      .slice(0, 10)
      .map((e, i) => `[${i}] ${e.instance_id}`)
      .join(', ')}, and 3 more`,
  );

  const noTenant = await h.admin('POST', '/instances/bulk', { instances: [entry('nt-0', 0), entry('nt-1', 1, { tenant_id: 't_nosuch' })] });
  assert.deepEqual([noTenant.statusCode, envelope(noTenant).error_msg], [400, 'tenant_id t_nosuch does not exist']);
  assert.deepEqual(await registered(), before, 'no refused request registered anything');
});

test('bulk: each entry follows the single endpoint\'s field rules, named with its index; 1-10,000 entries', async () => {
  for (const [body, message] of [
    [{ instances: [entry('f-0', 0), { instance_id: 'a b', adb_address: 'h:1' }] }, 'instances[1].instance_id: must be 1-32 characters from A-Z a-z 0-9 _ -'],
    [{ instances: [entry('f-0', 0), entry('f-1', 1), { adb_address: 'h:1' }] }, 'instances[2].instance_id: is required'],
    [{ instances: [entry('f-0', 0, { zone: '' })] }, 'instances[0].zone: must not be shorter than 1 character(s)'],
    [{ instances: [] }, 'instances: must hold at least 1 item(s)'],
    [{ instances: Array.from({ length: LIMITS.instancesPerBulk + 1 }, (_, n) => entry(`o${n}`, n)) }, 'instances: must hold at most 10000 items'],
    [{}, 'instances: is required'],
  ] as const) {
    const res = await h.admin('POST', '/instances/bulk', body);
    assert.equal(res.statusCode, 400, message);
    assert.deepEqual(envelope(res), { error_code: 'KOOPHONE.API.1000', error_msg: message });
  }
  assert.equal((await registered()).some((id) => id.startsWith('f-') || /^o\d/.test(id)), false);
});
