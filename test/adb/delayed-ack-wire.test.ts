// Our host's delayed_ack as seen on the wire: a TCP relay between AdbPool and the simulator decodes
// both directions in the order it forwards them. A WRTE that reaches the relay before the OKAY
// of an earlier one was forwarded was sent with that one still unacknowledged, so the relay's
// count of WRTEs not yet OKAYed is a lower bound of what the sender had in flight (and exact
// without delayed_ack, where the sender waits for the OKAY the relay forwarded).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdbPool, Command, PacketDecoder, type Packet } from '../../src/adb/index.js';
import { DELAYED_ACK_WINDOW } from '../../src/adb/stream.js';
import { startFleet } from '../../src/sim/index.js';
import { ADB_TIMEOUTS, testKey } from '../support/index.js';

const MiB = 1024 * 1024;

interface Seen {
  fromHost: boolean;
  packet: Packet;
}

/** A relay to port that records every packet, both ways, in the order it forwards them. */
async function relay(t: TestContext, port: number): Promise<{ address: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = net.createServer((host) => {
    const device = net.connect(port, '127.0.0.1');
    const record = (fromHost: boolean): PacketDecoder =>
      // Payloads are kept only for OKAY (its count) and OPEN (the service): a transfer's data is not needed.
      new PacketDecoder((p) => seen.push({ fromHost, packet: { ...p, payload: p.command === Command.WRTE ? Buffer.alloc(0) : Buffer.from(p.payload) } }));
    const up = record(true);
    const down = record(false);
    host.on('data', (c: Buffer) => {
      up.push(c);
      device.write(c);
    });
    device.on('data', (c: Buffer) => {
      down.push(c);
      host.write(c);
    });
    host.on('close', () => device.destroy());
    device.on('close', () => host.destroy());
    host.on('error', () => {});
    device.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { address: `127.0.0.1:${(server.address() as net.AddressInfo).port}`, seen };
}

/** Most WRTEs one side had on a stream without the other side's OKAY, over the whole record. */
function mostInFlight(seen: Seen[], fromHost: boolean): number {
  const inFlight = new Map<number, number>();
  const opened = new Set<number>();
  let most = 0;
  for (const { fromHost: up, packet: p } of seen) {
    // Streams are keyed by the sender's own id: arg0 of its WRTEs, arg1 of the OKAYs it receives.
    if (up === fromHost && p.command === Command.WRTE) {
      const n = (inFlight.get(p.arg0) ?? 0) + 1;
      inFlight.set(p.arg0, n);
      most = Math.max(most, n);
    } else if (up !== fromHost && p.command === Command.OKAY) {
      // The OKAY answering an OPEN acknowledges no WRTE.
      if (fromHost && !opened.has(p.arg1)) opened.add(p.arg1);
      else inFlight.set(p.arg1, 0);
    }
  }
  return most;
}

for (const delayed of [true, false]) {
  test(`push and pull ${delayed ? 'keep several WRTEs in flight with delayed_ack' : 'keep one WRTE in flight without delayed_ack'}`, async (t) => {
    const fleet = await startFleet({ count: 1, ...(delayed ? {} : { features: ['shell_v2', 'cmd'] }) });
    t.after(() => fleet.close());
    const { address, seen } = await relay(t, fleet.instances[0]!.port);
    const pool = new AdbPool({ ...ADB_TIMEOUTS, key: testKey() });
    t.after(() => pool.close());
    const dir = await mkdtemp(join(tmpdir(), 'adbfleet-dack-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const data = randomBytes(6 * MiB);
    await writeFile(join(dir, 'src'), data);

    await pool.push(address, join(dir, 'src'), '/data/local/tmp/f', {});
    await pool.pull(address, '/data/local/tmp/f', join(dir, 'back'), {});
    assert.ok((await readFile(join(dir, 'back'))).equals(data));

    const opens = seen.filter((s) => s.fromHost && s.packet.command === Command.OPEN);
    assert.deepEqual(
      opens.map((s) => s.packet.arg1),
      opens.map(() => (delayed ? DELAYED_ACK_WINDOW : 0)),
      'the OPEN grants our window exactly when delayed_ack is in use',
    );
    const okayPayloads = new Set(seen.filter((s) => s.packet.command === Command.OKAY).map((s) => s.packet.payload.length));
    assert.deepEqual([...okayPayloads], [delayed ? 4 : 0], 'OKAYs carry a count exactly when delayed_ack is in use');
    const pushed = mostInFlight(seen, true);
    const pulled = mostInFlight(seen, false);
    if (delayed) {
      assert.ok(pushed > 1, `our push had at most ${pushed} WRTE in flight`);
      assert.ok(pulled > 1, `the device had at most ${pulled} WRTE in flight`);
    } else {
      assert.equal(pushed, 1);
      assert.equal(pulled, 1);
    }
  });
}
