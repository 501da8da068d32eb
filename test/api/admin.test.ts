// SPEC §8: the operator API under /admin/v1.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_TOKEN, type ApiHarness, envelope, SettableMonitor, startApiHarness } from '../support/index.js';

let h: ApiHarness;
const monitor = new SettableMonitor();
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

before(async () => {
  h = await startApiHarness({ monitor });
});
after(async () => {
  await h.close();
});

for (const [name, auth] of [
  ['missing', undefined],
  ['wrong token', 'Bearer nope'],
  ['not Bearer', `Basic ${ADMIN_TOKEN}`],
  ['token with a suffix', `Bearer ${ADMIN_TOKEN}x`],
] as const) {
  test(`admin auth ${name} -> 401 APIGW.0301 (request id echoed, none required)`, async () => {
    const headers: Record<string, string> = { 'x-request-id': 'adm-1' };
    if (auth !== undefined) headers['authorization'] = auth;
    const res = await h.app.inject({ method: 'GET', url: '/admin/v1/tenants', headers });
    assert.equal(res.statusCode, 401);
    assert.equal(envelope(res).error_code, 'APIGW.0301');
    assert.equal(res.headers['x-request-id'], 'adm-1');
    const noId = await h.app.inject({ method: 'POST', url: '/admin/v1/tenants', headers: auth === undefined ? {} : { authorization: auth }, payload: { name: 'x' } });
    assert.equal(noId.statusCode, 401);
    assert.ok(noId.headers['x-request-id']);
  });
}

test('tenants: create returns a working token (plain JSON), list shows it', async () => {
  const res = await h.admin('POST', '/tenants', { name: 'Acme Corp' });
  assert.equal(res.statusCode, 200);
  const t = res.json();
  assert.deepEqual(Object.keys(t).sort(), ['name', 'tenant_id', 'token']);
  assert.equal(t.name, 'Acme Corp');
  assert.match(t.token, /^afk_/);
  const tasks = await h.call(t.token, 'GET', '/v1/instances/tasks');
  assert.equal(tasks.statusCode, 200);
  const list = (await h.admin('GET', '/tenants')).json();
  const row = list.tenants.find((x: { tenant_id: string }) => x.tenant_id === t.tenant_id);
  assert.deepEqual(Object.keys(row).sort(), ['created_at', 'name', 'tenant_id']);
  assert.match(row.created_at, ISO);
  assert.doesNotMatch(JSON.stringify(list), /afk_/, 'tokens are shown only at creation');
});

test('a bad adb-server:// address is refused naming the part at fault', async () => {
  const msg = async (addr: string): Promise<string> => envelope(await h.admin('POST', '/instances', { instance_id: 'part', adb_address: addr })).error_msg;
  assert.equal(await msg('adb-server://h:5037'), 'adb_address: adb-server:// must be followed by host:port/serial');
  assert.equal(await msg('adb-server://h:0/s1'), 'adb_address: the adb server must be host:port (host: hostname, IPv4 or [IPv6]; port 1-65535)');
  assert.equal(await msg('adb-server://h:5037/a;b'), 'adb_address: the serial must be 1-128 characters from A-Z a-z 0-9 . _ : @ [ ] -');
  assert.equal(await msg('h:0'), 'adb_address: must be host:port or adb-server://host:port/serial (host: hostname, IPv4 or [IPv6]; port 1-65535)');
});

for (const [name, body, field] of [
  ['no name', {}, 'name'],
  ['empty name', { name: '' }, 'name'],
  ['129-char name', { name: 'n'.repeat(129) }, 'name'],
  ['numeric name', { name: 5 }, 'name'],
  ['body an array', [], 'body'],
] as const) {
  test(`POST /tenants ${name} -> 400 KOOPHONE.API.1000 naming ${field}`, async () => {
    const res = await h.admin('POST', '/tenants', body);
    assert.equal(res.statusCode, 400);
    assert.equal(envelope(res).error_code, 'KOOPHONE.API.1000');
    assert.ok(envelope(res).error_msg.startsWith(field), envelope(res).error_msg);
  });
}

test('tokens: issue, revoke by prefix, 404 for unknown tenant or prefix', async () => {
  const t = (await h.admin('POST', '/tenants', { name: 'tok' })).json();
  const issued = await h.admin('POST', `/tenants/${t.tenant_id}/tokens`);
  assert.equal(issued.statusCode, 200);
  const { token, prefix } = issued.json();
  assert.equal(prefix, token.slice(0, 12));
  assert.equal((await h.call(token, 'GET', '/v1/instances/tasks')).statusCode, 200);
  const noTenant = await h.admin('POST', '/tenants/t_nosuch/tokens');
  assert.equal(noTenant.statusCode, 404);
  assert.deepEqual(envelope(noTenant), { error_code: 'KOOPHONE.API.1000', error_msg: 'tenant_id t_nosuch does not exist' });
  const unknownPrefix = await h.admin('DELETE', `/tenants/${t.tenant_id}/tokens/afk_zzzzzzzz`);
  assert.equal(unknownPrefix.statusCode, 404);
  assert.equal(envelope(unknownPrefix).error_code, 'KOOPHONE.API.1000');
  const revokeNoTenant = await h.admin('DELETE', `/tenants/t_nosuch/tokens/${prefix}`);
  assert.equal(revokeNoTenant.statusCode, 404);
  assert.equal(envelope(revokeNoTenant).error_msg, 'tenant_id t_nosuch does not exist');
  const revoked = await h.admin('DELETE', `/tenants/${t.tenant_id}/tokens/${prefix}`);
  assert.deepEqual(revoked.json(), { revoked: 1 });
  assert.equal((await h.call(token, 'GET', '/v1/instances/tasks')).statusCode, 401);
  assert.equal((await h.call(t.token, 'GET', '/v1/instances/tasks')).statusCode, 200, 'the first token still works');
});

test('instances: register with defaults, list, assign, unassign, delete; the monitor is told each change through the store', async () => {
  const t = (await h.admin('POST', '/tenants', { name: 'inst' })).json();
  const told: string[][] = [];
  const off = h.store.changes.onInstancesChanged((c) => told.push([...c.instanceIds]));
  const res = await h.admin('POST', '/instances', { instance_id: 'i-1', adb_address: 'emu-1.local:5555' });
  assert.equal(res.statusCode, 200, res.body);
  const inst = res.json();
  assert.deepEqual(
    { ...inst, created_at: 'x' },
    { instance_id: 'i-1', adb_address: 'emu-1.local:5555', instance_name: 'i-1', zone: 'local', tenant_id: null, status: 0, created_at: 'x' },
  );
  assert.match(inst.created_at, ISO);
  assert.deepEqual(told, [['i-1']]);
  const assigned = await h.admin('PUT', '/instances/i-1/tenant', { tenant_id: t.tenant_id });
  assert.equal(assigned.statusCode, 200, assigned.body);
  assert.equal(assigned.json().tenant_id, t.tenant_id);
  const owned = await h.call(t.token, 'POST', '/v1/instances/batch-query-status', { instance_ids: ['i-1'] });
  assert.equal(owned.statusCode, 200);
  const list = (await h.admin('GET', '/instances')).json();
  assert.equal(list.instances.find((i: { instance_id: string }) => i.instance_id === 'i-1').tenant_id, t.tenant_id);
  const unassigned = await h.admin('PUT', '/instances/i-1/tenant', { tenant_id: null });
  assert.equal(unassigned.json().tenant_id, null);
  const nowForeign = await h.call(t.token, 'POST', '/v1/instances/batch-query-status', { instance_ids: ['i-1'] });
  assert.equal(envelope(nowForeign).error_code, 'KOOPHONE.API.1001');
  const del = await h.admin('DELETE', '/instances/i-1');
  assert.equal(del.statusCode, 200);
  off();
  assert.deepEqual(told, [['i-1'], ['i-1'], ['i-1'], ['i-1']]);
  assert.equal((await h.admin('GET', '/instances')).json().instances.some((i: { instance_id: string }) => i.instance_id === 'i-1'), false);
  assert.equal((await h.admin('DELETE', '/instances/i-1')).statusCode, 404);
});

test('instances: duplicate id -> 409, unknown tenant_id -> 400 naming tenant_id, unknown instance -> 404', async () => {
  assert.equal((await h.admin('POST', '/instances', { instance_id: 'dup', adb_address: '10.1.1.1:5555' })).statusCode, 200);
  const dup = await h.admin('POST', '/instances', { instance_id: 'dup', adb_address: '10.1.1.2:5555' });
  assert.equal(dup.statusCode, 409);
  assert.equal(envelope(dup).error_code, 'KOOPHONE.API.1000');
  assert.equal(envelope(dup).error_msg, 'instance_id: dup already exists');
  const noTenant = await h.admin('POST', '/instances', { instance_id: 'nt', adb_address: '10.1.1.3:5555', tenant_id: 't_nosuch' });
  assert.equal(noTenant.statusCode, 400);
  assert.deepEqual(envelope(noTenant), { error_code: 'KOOPHONE.API.1000', error_msg: 'tenant_id t_nosuch does not exist' });
  assert.equal((await h.admin('GET', '/instances')).json().instances.some((i: { instance_id: string }) => i.instance_id === 'nt'), false);
  const assignBadTenant = await h.admin('PUT', '/instances/dup/tenant', { tenant_id: 't_nosuch' });
  assert.equal(assignBadTenant.statusCode, 400);
  assert.equal(envelope(assignBadTenant).error_msg, 'tenant_id t_nosuch does not exist');
  const assignMissing = await h.admin('PUT', '/instances/ghost/tenant', { tenant_id: null });
  assert.equal(assignMissing.statusCode, 404);
  assert.deepEqual(envelope(assignMissing), { error_code: 'KOOPHONE.API.1000', error_msg: 'instance_id ghost does not exist' });
  const assignBoth = await h.admin('PUT', '/instances/ghost/tenant', { tenant_id: 't_nosuch' });
  assert.equal(assignBoth.statusCode, 404, 'the instance in the path is reported first');
  const deleteMissing = await h.admin('DELETE', '/instances/ghost');
  assert.deepEqual([deleteMissing.statusCode, envelope(deleteMissing).error_msg], [404, 'instance_id ghost does not exist']);
  const noField = await h.admin('PUT', '/instances/dup/tenant', {});
  assert.equal(noField.statusCode, 400);
  assert.match(envelope(noField).error_msg, /^tenant_id/);
});

const goodAddresses = ['localhost:5555', '10.0.0.1:1', '192.168.1.254:65535', '[::1]:5555', '[fe80::1:2]:5037', 'a-b.example.com:5555', 'redroid_1'.replace('_', '-') + ':5555',
  'adb-server://127.0.0.1:5037/127.0.0.1:5555', 'adb-server://usb-host.lab:5037/R58M123ABC', 'adb-server://[::1]:5037/emulator-5554',
  'adb-server://10.0.0.9:5037/adb-R58M._adb-tls-connect._tcp', 'adb-server://h:1/[::1]:5555'];
const badAddresses = [
  'localhost', '10.0.0.1', ':5555', 'host:0', 'host:65536', 'host:abc', 'host:', '::1:5555', '[::1]', '[::1]:', '[nothex]:5555',
  '256.1.1.1:5555', '1.2.3:5555', 'bad_host:5555', '-lead.example:5555', 'a b:5555', 'host:55555555', 'host:5555/x', '',
  'adb-server://', 'adb-server://h:5037', 'adb-server://h:5037/', 'adb-server://h/serial', 'adb-server://h:0/serial',
  'adb-server://h:65536/serial', 'adb-server://bad_host:5037/serial', 'adb-server://h:5037/a b', 'adb-server://h:5037/a;reboot',
  `adb-server://h:5037/${'s'.repeat(129)}`, 'adb-server://h:5037/a/b', 'ADB-SERVER://h:5037/serial',
];

for (const [i, addr] of goodAddresses.entries()) {
  test(`adb_address ${addr} is accepted`, async () => {
    const res = await h.admin('POST', '/instances', { instance_id: `good${i}`, adb_address: addr });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().adb_address, addr);
  });
}
for (const [i, addr] of badAddresses.entries()) {
  test(`adb_address ${JSON.stringify(addr)} -> 400 naming adb_address, nothing registered`, async () => {
    const res = await h.admin('POST', '/instances', { instance_id: `bad${i}`, adb_address: addr });
    assert.equal(res.statusCode, 400);
    assert.equal(envelope(res).error_code, 'KOOPHONE.API.1000');
    assert.match(envelope(res).error_msg, /^adb_address: /);
    const list = (await h.admin('GET', '/instances')).json();
    assert.equal(list.instances.some((x: { instance_id: string }) => x.instance_id === `bad${i}`), false);
  });
}

for (const [name, body, field] of [
  ['no instance_id', { adb_address: 'h:1' }, 'instance_id'],
  ['bad instance_id', { instance_id: 'a b', adb_address: 'h:1' }, 'instance_id'],
  ['no adb_address', { instance_id: 'z1' }, 'adb_address'],
  ['adb_address a number', { instance_id: 'z1', adb_address: 5555 }, 'adb_address'],
  ['empty instance_name', { instance_id: 'z1', adb_address: 'h:1', instance_name: '' }, 'instance_name'],
  ['zone a number', { instance_id: 'z1', adb_address: 'h:1', zone: 1 }, 'zone'],
] as const) {
  test(`POST /instances ${name} -> 400 naming ${field}`, async () => {
    const res = await h.admin('POST', '/instances', body);
    assert.equal(res.statusCode, 400);
    assert.ok(envelope(res).error_msg.startsWith(field), envelope(res).error_msg);
  });
}
