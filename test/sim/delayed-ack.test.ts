// The simulated adbd's delayed_ack at the packet level, over real sockets: negotiated in CNXN as
// adbd does (both banners), the OPEN's arg1 as the host's grant, OKAYs carrying byte counts, WRTEs
// in flight up to the grant; without the feature on either side, one WRTE at a time and bare OKAYs.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Command, INITIAL_DELAYED_ACK_BYTES, MAX_PAYLOAD, VERSION, type Packet } from '../../src/adb/wire/index.js';
import { startFleet, type Fleet } from '../../src/sim/index.js';
import { RawClient } from './raw-client.js';

const MiB = 1024 * 1024;
const SEQ = 'exec:seq 1 400000';
const SEQ_OUTPUT = Array.from({ length: 400000 }, (_, i) => `${i + 1}\n`).join('');

async function fleetFor(t: TestContext, features?: string[]): Promise<Fleet> {
  const fleet = await startFleet({ count: 1, ...(features === undefined ? {} : { features }) });
  t.after(() => fleet.close());
  return fleet;
}

/** A raw host on the fleet's instance, its CNXN listing delayed_ack or not. */
async function hostFor(t: TestContext, fleet: Fleet, delayedAck: boolean): Promise<RawClient> {
  const c = await RawClient.connect(fleet.instances[0]!.port);
  t.after(() => c.close());
  c.send(Command.CNXN, VERSION, MAX_PAYLOAD, `host::features=shell_v2,cmd${delayedAck ? ',delayed_ack' : ''}\0`, true);
  assert.equal((await c.next()).command, Command.CNXN);
  return c;
}

function count(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(n);
  return b;
}

/**
 * A round trip on a stream of its own (`exec:echo`): once its CLSE is here, whatever the device
 * sent before answering it has arrived. Returns the packets of other streams that came meanwhile.
 */
async function barrier(c: RawClient, grant: number): Promise<Packet[]> {
  const id = 99;
  c.send(Command.OPEN, id, grant, 'exec:echo barrier\0');
  const others: Packet[] = [];
  for (;;) {
    const p = await c.next();
    if (p.arg1 !== id) others.push(p);
    else if (p.command === Command.CLSE) return others;
  }
}

test('with delayed_ack the device sends WRTEs up to the grant without waiting for OKAYs', async (t) => {
  const fleet = await fleetFor(t);
  const c = await hostFor(t, fleet, true);
  c.send(Command.OPEN, 1, 8 * MiB, `${SEQ}\0`);
  const okay = await c.next();
  assert.equal(okay.command, Command.OKAY);
  assert.equal(okay.payload.length, 4, 'the OKAY carries the device grant');
  assert.equal(okay.payload.readInt32LE(0), INITIAL_DELAYED_ACK_BYTES);
  const data: Buffer[] = [];
  for (;;) {
    const p = await c.next();
    if (p.command === Command.CLSE) break;
    assert.equal(p.command, Command.WRTE);
    data.push(p.payload);
  }
  // 2.7 MB of output, no OKAY sent: every WRTE of it was in flight at once.
  assert.ok(data.length >= 3, `${data.length} WRTEs`);
  assert.equal(Buffer.concat(data).toString(), SEQ_OUTPUT);
});

test('the device stops once the grant is spent and goes on as OKAYs give bytes back', async (t) => {
  const fleet = await fleetFor(t);
  const c = await hostFor(t, fleet, true);
  c.send(Command.OPEN, 1, 1000, `${SEQ}\0`);
  assert.equal((await c.next()).command, Command.OKAY);
  const first = await c.next();
  assert.equal(first.command, Command.WRTE);
  assert.ok(first.payload.length > 1000, 'a whole payload goes out while any grant is left');
  assert.deepEqual(await barrier(c, MiB), [], 'nothing more past the grant');
  // Acknowledging all but 1000 bytes leaves the window at 0: still nothing.
  c.send(Command.OKAY, 1, first.arg0, count(first.payload.length - 1000));
  assert.deepEqual(await barrier(c, MiB), []);
  c.send(Command.OKAY, 1, first.arg0, count(1000));
  const second = await c.next();
  assert.equal(second.command, Command.WRTE);
  assert.equal(second.arg1, 1);
  assert.deepEqual(await barrier(c, MiB), [], 'one payload for a window of 1000 bytes');
});

test("the host's WRTEs are acknowledged with their byte count", async (t) => {
  const fleet = await fleetFor(t);
  const c = await hostFor(t, fleet, true);
  // An interactive shell: it reads lines from stdin and stays open.
  c.send(Command.OPEN, 1, MiB, 'shell:\0');
  const okay = await c.next();
  c.send(Command.WRTE, 1, okay.arg0, Buffer.from(`${' '.repeat(299)}\n`));
  c.send(Command.WRTE, 1, okay.arg0, Buffer.from('true\n'));
  const counts: number[] = [];
  while (counts.length < 2) {
    const p = await c.next();
    if (p.command === Command.OKAY) counts.push(p.payload.readInt32LE(0));
  }
  assert.deepEqual(counts, [300, 5]);
});

for (const [who, features, hostHas] of [
  ['the host', undefined, false],
  ['the device', ['shell_v2', 'cmd'], true],
] as const) {
  test(`when ${who} lacks delayed_ack: bare OKAYs, one WRTE in flight until its OKAY`, async (t) => {
    const fleet = await fleetFor(t, features === undefined ? undefined : [...features]);
    const c = await hostFor(t, fleet, hostHas);
    c.send(Command.OPEN, 1, 0, `${SEQ}\0`);
    const okay = await c.next();
    assert.equal(okay.command, Command.OKAY);
    assert.equal(okay.payload.length, 0);
    const data: Buffer[] = [];
    for (let closed = false; !closed; ) {
      const p = await c.next();
      assert.equal(p.command, Command.WRTE);
      data.push(p.payload);
      // The device's CLSE may follow its last WRTE without waiting for the OKAY (adbd's does).
      const meanwhile = await barrier(c, 0);
      assert.deepEqual(meanwhile.filter((q) => q.command !== Command.CLSE), [], 'no second WRTE before the OKAY');
      closed = meanwhile.length > 0;
      c.send(Command.OKAY, 1, p.arg0);
    }
    assert.ok(data.length >= 3);
    assert.equal(Buffer.concat(data).toString(), SEQ_OUTPUT);
  });
}

test('an OPEN whose grant disagrees with the feature is refused, as adbd refuses it', async (t) => {
  const fleet = await fleetFor(t);
  const withIt = await hostFor(t, fleet, true);
  withIt.send(Command.OPEN, 1, 0, 'exec:echo x\0');
  const refused = await withIt.next();
  assert.deepEqual([refused.command, refused.arg0, refused.arg1], [Command.CLSE, 0, 1]);
  const without = await hostFor(t, fleet, false);
  without.send(Command.OPEN, 2, MiB, 'exec:echo x\0');
  const refused2 = await without.next();
  assert.deepEqual([refused2.command, refused2.arg0, refused2.arg1], [Command.CLSE, 0, 2]);
  assert.equal(fleet.journal().length, 0, 'neither ran');
});
