// Fault injection per instance, and reboot: what a host sees on the wire, and what the journal says.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from '../../src/adb/wire/index.js';
import { startFleet, type Fleet } from '../../src/sim/index.js';
import { RawClient, decodeShellV2 } from './raw-client.js';
import { until } from '../support/index.js';

async function connected(t: { after(fn: () => unknown): void }, port: number): Promise<RawClient> {
  const c = await RawClient.connect(port);
  t.after(() => c.close());
  assert.equal((await c.connectHandshake()).command, Command.CNXN);
  return c;
}

/** A refused connection: either connect fails or the socket closes with nothing received. */
async function refused(port: number): Promise<boolean> {
  let c: RawClient;
  try {
    c = await RawClient.connect(port);
  } catch {
    return true;
  }
  await c.closed;
  return c.raw.length === 0;
}

async function fleetFor(t: { after(fn: () => unknown): void }, opts: { rebootDelayMs?: number } = {}): Promise<Fleet> {
  const fleet = await startFleet({ count: 2, ...opts });
  t.after(() => fleet.close());
  return fleet;
}

test('latency delays every reply; clearing it restores prompt answers', async (t) => {
  const fleet = await fleetFor(t);
  const inst = fleet.instances[0]!;
  inst.setFault({ kind: 'latency', ms: 600 });
  const c = await RawClient.connect(inst.port);
  t.after(() => c.close());
  c.send(Command.CNXN, 0x01000001, 1 << 20, 'host::\0');
  assert.ok(await c.silentFor(250), 'CNXN answered before the added latency');
  assert.equal((await c.next()).command, Command.CNXN);
  assert.equal(decodeShellV2((await c.run('shell,v2,raw:echo slow')).data).stdout, 'slow\n');
});

test('hang: OPEN is never answered and nothing is journaled', async (t) => {
  const fleet = await fleetFor(t);
  const inst = fleet.instances[0]!;
  const c = await connected(t, inst.port);
  inst.setFault({ kind: 'hang' });
  c.send(Command.OPEN, 1, 0, 'shell,v2,raw:echo never');
  assert.ok(await c.silentFor(300));
  assert.equal(fleet.journal().length, 0);
  inst.setFault(null);
  assert.equal(decodeShellV2((await c.run('shell,v2,raw:echo now', 2)).data).stdout, 'now\n');
});

test('bad-shell-packet: OPEN is answered, then one WRTE holding the bad header and a byte, then nothing until the host closes', async (t) => {
  const fleet = await fleetFor(t);
  const inst = fleet.instances[0]!;
  const c = await connected(t, inst.port);
  inst.setFault({ kind: 'bad-shell-packet', id: 9, length: 2 ** 31 });
  c.send(Command.OPEN, 1, 0, 'shell,v2,raw:echo x');
  const okay = await c.next();
  assert.equal(okay.command, Command.OKAY);
  const w = await c.next();
  assert.equal(w.command, Command.WRTE);
  assert.deepEqual([w.payload[0], w.payload.readUInt32LE(1), w.payload.subarray(5).toString()], [9, 2 ** 31, 'x']);
  c.send(Command.OKAY, 1, okay.arg0);
  assert.ok(await c.silentFor(300), 'no output, no exit, no CLSE');
  assert.equal(fleet.journal()[0]?.end, 'running');
  c.send(Command.CLSE, 1, okay.arg0);
  assert.equal((await c.next()).command, Command.CLSE);
  assert.equal(fleet.journal()[0]?.end, 'closed');
  assert.throws(() => inst.setFault({ kind: 'bad-shell-packet', id: 256, length: 1 }), /'id'/);
});

test('drop: the connection closes after exactly N output bytes; a command cut short is journaled as disconnected', async (t) => {
  const fleet = await fleetFor(t);
  const inst = fleet.instances[0]!;
  inst.setFault({ kind: 'drop', afterBytes: 10 });
  const c = await connected(t, inst.port);
  // Big enough that it is still running when the first WRTE is cut.
  c.send(Command.OPEN, 1, 0, 'shell,v2,raw:seq 1 1000000');
  let got = 0;
  try {
    for (;;) {
      const p = await c.next();
      if (p.command === Command.WRTE) {
        got += p.payload.length;
        c.send(Command.OKAY, 1, p.arg0);
      }
    }
  } catch (e) {
    assert.match(String(e), /connection closed/);
  }
  assert.equal(got, 10);
  const [e] = fleet.journal();
  assert.equal(e?.end, 'disconnected');
  assert.equal(e?.command, 'seq 1 1000000');
  // Every connection gets its N bytes: a short command finishes on the device though its output is lost.
  const c2 = await connected(t, inst.port);
  c2.send(Command.OPEN, 1, 0, 'shell,v2,raw:echo 0123456789abcdef');
  await c2.closed;
  assert.deepEqual(fleet.journal()[1]?.end, 'exit');
});

test('refuse: connections are cut at once; the other instance is unaffected', async (t) => {
  const fleet = await fleetFor(t);
  fleet.instances[0]!.setFault({ kind: 'refuse' });
  assert.ok(await refused(fleet.instances[0]!.port));
  await connected(t, fleet.instances[1]!.port);
});

test('garbage: the device answers with a malformed header', async (t) => {
  const fleet = await fleetFor(t);
  const inst = fleet.instances[0]!;
  inst.setFault({ kind: 'garbage' });
  const c = await RawClient.connect(inst.port);
  t.after(() => c.close());
  c.send(Command.CNXN, 0x01000001, 1 << 20, 'host::\0');
  await assert.rejects(c.next(), /magic|unknown command/);
});

test('offline: drops existing connections, refuses new ones, then comes back by itself', async (t) => {
  const fleet = await fleetFor(t);
  const inst = fleet.instances[0]!;
  const c = await connected(t, inst.port);
  c.send(Command.OPEN, 1, 0, 'shell,v2,raw:sleep 60');
  assert.equal((await c.next()).command, Command.OKAY);
  inst.setFault({ kind: 'offline', ms: 1500 });
  await c.closed;
  assert.equal(inst.state, 'offline');
  assert.equal(fleet.journal()[0]?.end, 'disconnected');
  assert.ok(await refused(inst.port));
  await until('the instance to come back', () => inst.state === 'online', 20000);
  assert.equal(inst.fault, null);
  await connected(t, inst.port);
});

test('reboot: service and shell command drop the connection; state resets except persist.*', async (t) => {
  const fleet = await fleetFor(t, { rebootDelayMs: 800 });
  const inst = fleet.instances[0]!;
  let c = await connected(t, inst.port);
  await c.run('shell,v2,raw:setprop debug.x 1; setprop persist.y 2', 1);
  c.send(Command.OPEN, 2, 0, 'reboot:\0');
  assert.equal((await c.next()).command, Command.OKAY);
  await c.closed;
  assert.equal(inst.state, 'rebooting');
  assert.ok(await refused(inst.port));
  await until('the reboot to finish', () => inst.state === 'online', 20000);
  c = await connected(t, inst.port);
  const props = decodeShellV2((await c.run('shell,v2,raw:getprop debug.x; getprop persist.y', 3)).data);
  assert.equal(props.stdout, '\n2\n');
  // `reboot` typed in a shell never returns: the connection drops under it.
  c.send(Command.OPEN, 4, 0, 'shell,v2,raw:echo bye; reboot');
  await c.closed;
  await until('the second reboot to finish', () => inst.state === 'online', 20000);
  const j = fleet.journal();
  assert.deepEqual(
    j.map((e) => [e.service, e.command, e.end]),
    [
      ['shell,v2,raw', 'setprop debug.x 1; setprop persist.y 2', 'exit'],
      ['reboot', '', 'reboot'],
      ['shell,v2,raw', 'getprop debug.x; getprop persist.y', 'exit'],
      ['shell,v2,raw', 'echo bye; reboot', 'reboot'],
    ],
  );
  assert.deepEqual(j.map((e) => e.connectionId), [1, 1, 2, 2]);
});

test('bad faults are rejected', async (t) => {
  const fleet = await fleetFor(t);
  const inst = fleet.instances[0]!;
  assert.throws(() => inst.setFault({ kind: 'latency', ms: -1 }), /ms/);
  assert.throws(() => inst.setFault({ kind: 'nope' } as never), /kind/);
  assert.equal(inst.fault, null);
});
