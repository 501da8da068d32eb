// SPEC §6: batch-query-status, batch-query, reboot.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ApiHarness, envelope, rid, SettableMonitor, startApiHarness } from '../support/index.js';

let h: ApiHarness;
let tokenA: string;
const monitor = new SettableMonitor();
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

before(async () => {
  h = await startApiHarness({ monitor });
  const a = await h.tenant('alpha');
  const b = await h.tenant('beta');
  tokenA = a.token;
  // 25 instances for paging: p00..p24; names "phone-NN".
  for (let i = 0; i < 25; i++) {
    const id = `p${String(i).padStart(2, '0')}`;
    const res = await h.admin('POST', '/instances', {
      instance_id: id, adb_address: `10.0.0.${i + 1}:5555`, instance_name: `phone-${String(i).padStart(2, '0')}`,
      zone: i % 2 === 0 ? 'east' : 'west', tenant_id: a.tenantId,
    });
    assert.equal(res.statusCode, 200, res.body);
  }
  await h.instance('b1', b.tenantId);
  monitor.statuses.set('p00', 2);
  monitor.statuses.set('p01', 3);
  monitor.statuses.set('p02', 2);
  monitor.statuses.set('b1', 2);
});
after(async () => {
  await h.close();
});

test('batch-query-status: statuses in request order', async () => {
  const res = await h.call(tokenA, 'POST', '/v1/instances/batch-query-status', { instance_ids: ['p02', 'p01', 'p00', 'p03'] });
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(res.json(), {
    error_code: '0', error_msg: 'ok',
    data: { status_results: [
      { instance_id: 'p02', status: 2 }, { instance_id: 'p01', status: 3 },
      { instance_id: 'p00', status: 2 }, { instance_id: 'p03', status: 0 },
    ] },
  });
});

for (const path of ['/v1/instances/batch-query-status', '/v1/instances/reboot']) {
  for (const [name, body, field] of [
    ['no instance_ids', {}, 'instance_ids'],
    ['instance_ids empty', { instance_ids: [] }, 'instance_ids'],
    ['instance_ids not an array', { instance_ids: 'p00' }, 'instance_ids'],
    ['a bad id', { instance_ids: ['p00', 'no/slash'] }, 'instance_ids[1]'],
    ['a duplicate', { instance_ids: ['p00', 'p00'] }, 'instance_ids[1]'],
    ['101 ids', { instance_ids: Array.from({ length: 101 }, (_, i) => `x${i}`) }, 'instance_ids'],
    ['body an array', [], 'body'],
  ] as const) {
    test(`${path}: ${name} -> 400 KOOPHONE.API.1000 naming ${field}`, async () => {
      const res = await h.call(tokenA, 'POST', path, body);
      assert.equal(res.statusCode, 400);
      assert.equal(envelope(res).error_code, 'KOOPHONE.API.1000');
      assert.ok(envelope(res).error_msg.startsWith(field), envelope(res).error_msg);
    });
  }
  test(`${path}: foreign and missing ids -> 400 KOOPHONE.API.1001 naming them`, async () => {
    const rebootedBefore = monitor.rebooted.length;
    const res = await h.call(tokenA, 'POST', path, { instance_ids: ['p00', 'b1', 'ghost'] });
    assert.equal(res.statusCode, 400);
    const e = envelope(res);
    assert.equal(e.error_code, 'KOOPHONE.API.1001');
    assert.match(e.error_msg, /\bb1\b/);
    assert.match(e.error_msg, /\bghost\b/);
    assert.doesNotMatch(e.error_msg, /\bp00\b/);
    assert.equal(monitor.rebooted.length, rebootedBefore);
  });
}

test('batch-query: defaults page_no 1, page_size 10, ordered by instance_id, with total_count', async () => {
  const res = await h.call(tokenA, 'GET', '/v1/instances/batch-query');
  assert.equal(res.statusCode, 200, res.body);
  const data = res.json().data;
  assert.equal(data.page_no, 1);
  assert.equal(data.page_size, 10);
  assert.equal(data.total_count, 25);
  assert.equal(data.result.length, 10);
  assert.equal(data.result[0].instance_id, 'p00');
  assert.deepEqual(Object.keys(data.result[0]).sort(), ['created_at', 'instance_id', 'instance_name', 'running_status', 'zone']);
  assert.equal(data.result[0].instance_name, 'phone-00');
  assert.equal(data.result[0].running_status, 2);
  assert.equal(data.result[0].zone, 'east');
  assert.match(data.result[0].created_at, ISO);
});

test('batch-query: last page, beyond the end, filters', async () => {
  const last = (await h.call(tokenA, 'GET', '/v1/instances/batch-query?page_no=3&page_size=10')).json().data;
  assert.deepEqual(last.result.map((r: { instance_id: string }) => r.instance_id), ['p20', 'p21', 'p22', 'p23', 'p24']);
  const beyond = (await h.call(tokenA, 'GET', '/v1/instances/batch-query?page_no=9')).json().data;
  assert.deepEqual(beyond.result, []);
  assert.equal(beyond.total_count, 25);
  const far = (await h.call(tokenA, 'GET', '/v1/instances/batch-query?page_no=2000000000')).json().data;
  assert.deepEqual([far.result, far.page_no, far.total_count], [[], 2000000000, 25]);
  const exact = (await h.call(tokenA, 'GET', '/v1/instances/batch-query?instance_id=p07')).json().data;
  assert.deepEqual(exact.result.map((r: { instance_id: string }) => r.instance_id), ['p07']);
  assert.equal(exact.total_count, 1);
  const prefix = (await h.call(tokenA, 'GET', '/v1/instances/batch-query?instance_id=p0')).json().data;
  assert.equal(prefix.total_count, 0, 'instance_id is an exact filter');
  const name = (await h.call(tokenA, 'GET', '/v1/instances/batch-query?instance_name=ne-1&page_size=100')).json().data;
  assert.deepEqual(name.result.map((r: { instance_id: string }) => r.instance_id), Array.from({ length: 10 }, (_, i) => `p1${i}`));
  const foreign = (await h.call(tokenA, 'GET', '/v1/instances/batch-query?instance_id=b1')).json().data;
  assert.equal(foreign.total_count, 0);
});

for (const [query, field] of [
  ['page_no=0', 'page_no'], ['page_no=-1', 'page_no'], ['page_no=1.5', 'page_no'], ['page_no=abc', 'page_no'],
  ['page_size=0', 'page_size'], ['page_size=101', 'page_size'], ['page_size=2.0', 'page_size'], ['page_size=', 'page_size'],
] as const) {
  test(`batch-query ?${query} -> 400 KOOPHONE.API.1000 naming ${field}`, async () => {
    const res = await h.call(tokenA, 'GET', `/v1/instances/batch-query?${query}`);
    assert.equal(res.statusCode, 400, res.body);
    assert.equal(envelope(res).error_code, 'KOOPHONE.API.1000');
    assert.ok(envelope(res).error_msg.startsWith(field), envelope(res).error_msg);
  });
}

test('batch-query: an invalid x-request-id in the query is "must be 1-128 printable ASCII characters", not "required"', async () => {
  for (const q of ['x-request-id=', `x-request-id=${'r'.repeat(129)}`]) {
    const res = await h.app.inject({ method: 'GET', url: `/v1/instances/batch-query?${q}`, headers: { 'x-auth-token': tokenA } });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(envelope(res), { error_code: 'KOOPHONE.API.0002', error_msg: 'x-request-id: must be 1-128 printable ASCII characters' });
  }
});

test('batch-query: page_no past 2^53 - 1 names its range', async () => {
  for (const pageNo of ['99999999999999999999', '9007199254740992', '0']) {
    const res = await h.app.inject({ method: 'GET', url: `/v1/instances/batch-query?page_no=${pageNo}`, headers: { 'x-auth-token': tokenA, 'x-request-id': rid() } });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(envelope(res), { error_code: 'KOOPHONE.API.1000', error_msg: 'page_no: must be an integer from 1 to 9007199254740991' });
  }
  const far = await h.app.inject({ method: 'GET', url: '/v1/instances/batch-query?page_no=9007199254740991', headers: { 'x-auth-token': tokenA, 'x-request-id': rid() } });
  assert.equal(far.statusCode, 200, far.body);
  assert.deepEqual(far.json().data.result, []);
});

test('batch-query accepts x-request-id as a query parameter (and echoes it)', async () => {
  const res = await h.app.inject({
    method: 'GET', url: '/v1/instances/batch-query?x-request-id=from-query&page_size=1', headers: { 'x-auth-token': tokenA },
  });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.headers['x-request-id'], 'from-query');
  // Only there: other endpoints want the header.
  const other = await h.app.inject({ method: 'GET', url: '/v1/instances/tasks?x-request-id=q', headers: { 'x-auth-token': tokenA } });
  assert.equal(other.statusCode, 400);
  assert.equal(envelope(other).error_code, 'KOOPHONE.API.0002');
});

test('reboot: an instance not running -> 400 KOOPHONE.API.5005 naming it, nothing rebooted', async () => {
  const before = monitor.rebooted.length;
  const res = await h.call(tokenA, 'POST', '/v1/instances/reboot', { instance_ids: ['p00', 'p01', 'p03'] });
  assert.equal(res.statusCode, 400);
  const e = envelope(res);
  assert.equal(e.error_code, 'KOOPHONE.API.5005');
  assert.match(e.error_msg, /\bp01\b/);
  assert.match(e.error_msg, /\bp03\b/);
  assert.doesNotMatch(e.error_msg, /\bp00\b/);
  assert.equal(monitor.rebooted.length, before);
});

test('reboot: all running -> ok envelope without data; each rebooted once', async () => {
  const res = await h.call(tokenA, 'POST', '/v1/instances/reboot', { instance_ids: ['p00', 'p02'] });
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(res.json(), { error_code: '0', error_msg: 'ok' });
  assert.deepEqual(monitor.rebooted.slice(-2).sort(), ['p00', 'p02']);
  const status = await h.call(tokenA, 'POST', '/v1/instances/batch-query-status', { instance_ids: ['p00'] });
  assert.equal(status.json().data.status_results[0].status, 4);
  monitor.statuses.set('p00', 2);
  monitor.statuses.set('p02', 2);
});
