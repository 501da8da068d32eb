// The HTTP control port: list instances, set and clear faults, read and clear the journal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startControlServer, startFleet } from '../../src/sim/index.js';
import { RawClient } from './raw-client.js';

test('control API over HTTP', async (t) => {
  const fleet = await startFleet({ count: 3 });
  t.after(() => fleet.close());
  const control = await startControlServer(fleet, { port: 0 });
  t.after(() => control.close());
  const base = `http://127.0.0.1:${control.port}`;
  const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> => {
    const res = await fetch(base + path, { method, ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }) });
    const text = await res.text();
    return { status: res.status, json: text === '' ? null : JSON.parse(text) };
  };

  const list = await call('GET', '/instances');
  assert.equal(list.status, 200);
  assert.deepEqual(
    list.json,
    fleet.instances.map((i) => ({ serial: i.serial, port: i.port, address: `127.0.0.1:${i.port}`, fault: null, state: 'online' })),
  );

  const put = await call('PUT', '/instances/sim-0002/fault', { kind: 'latency', ms: 5 });
  assert.deepEqual(put, { status: 200, json: { serial: 'sim-0002', fault: { kind: 'latency', ms: 5 }, state: 'online' } });
  assert.deepEqual(fleet.instance('sim-0002')?.fault, { kind: 'latency', ms: 5 });
  assert.equal((await call('PUT', '/instances/sim-0002/fault', { kind: 'drop' })).status, 400);
  assert.equal((await call('PUT', '/instances/sim-0002/fault', '{not json')).status, 400);
  assert.equal((await call('PUT', '/instances/sim-9999/fault', { kind: 'hang' })).status, 404);
  assert.deepEqual(fleet.instance('sim-0002')?.fault, { kind: 'latency', ms: 5 });
  assert.equal((await call('DELETE', '/instances/sim-0002/fault')).status, 200);
  assert.equal(fleet.instance('sim-0002')?.fault, null);

  await call('PUT', '/instances/sim-0003/fault', { kind: 'offline', ms: 60000 });
  const states = (await call('GET', '/instances')).json as { state: string }[];
  assert.deepEqual(states.map((s) => s.state), ['online', 'online', 'offline']);
  await call('DELETE', '/instances/sim-0003/fault');
  assert.equal(fleet.instance('sim-0003')?.state, 'online');

  for (const inst of fleet.instances.slice(0, 2)) {
    const c = await RawClient.connect(inst.port);
    t.after(() => c.close());
    await c.connectHandshake();
    await c.run(`shell,v2,raw:echo ${inst.serial}`);
  }
  const all = (await call('GET', '/journal')).json as { serial: string; command: string; end: string }[];
  assert.deepEqual(all.map((e) => [e.serial, e.command, e.end]), [
    ['sim-0001', 'echo sim-0001', 'exit'],
    ['sim-0002', 'echo sim-0002', 'exit'],
  ]);
  const one = (await call('GET', '/journal?serial=sim-0002')).json as { serial: string }[];
  assert.deepEqual(one.map((e) => e.serial), ['sim-0002']);
  assert.equal((await call('GET', '/journal?serial=nope')).status, 404);
  assert.equal((await call('DELETE', '/journal')).status, 204);
  assert.deepEqual((await call('GET', '/journal')).json, []);
  assert.equal((await call('GET', '/nowhere')).status, 404);
});
