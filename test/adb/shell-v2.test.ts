import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ShellId, ShellV2Parser, encodeShellPacket, parseAddress, parseDeviceBanner } from '../../src/adb/index.js';

test('shell v2 packets split across WRTE payloads come out in order with their ids', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ id: fc.constantFrom(ShellId.Stdout, ShellId.Stderr, ShellId.Exit), data: fc.uint8Array({ maxLength: 50 }) }), { maxLength: 10 }),
      fc.array(fc.nat(), { maxLength: 8 }),
      (packets, cuts) => {
        const wire = Buffer.concat(packets.map((p) => encodeShellPacket(p.id, Buffer.from(p.data))));
        const got = new Map<number, number[]>();
        const parser = new ShellV2Parser((id, data) => got.set(id, [...(got.get(id) ?? []), ...data]));
        const points = [...new Set(cuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
        let prev = 0;
        for (const p of [...points, wire.length]) {
          parser.push(wire.subarray(prev, p));
          prev = p;
        }
        assert.equal(parser.midPacket, false);
        for (const id of [ShellId.Stdout, ShellId.Stderr, ShellId.Exit]) {
          const want = packets.filter((p) => p.id === id).flatMap((p) => [...p.data]);
          assert.deepEqual(got.get(id) ?? [], want);
        }
      },
    ),
    { numRuns: 300 },
  );
});

test('device banner: product, model, device and features', () => {
  const b = parseDeviceBanner(Buffer.from('device::ro.product.name=sdk_phone;ro.product.model=Pixel 7;ro.product.device=panther;features=shell_v2,cmd,stat_v2\0'));
  assert.equal(b.state, 'device');
  assert.equal(b.product, 'sdk_phone');
  assert.equal(b.model, 'Pixel 7');
  assert.equal(b.device, 'panther');
  assert.deepEqual(b.features, ['shell_v2', 'cmd', 'stat_v2']);
  const old = parseDeviceBanner('device::');
  assert.deepEqual([old.state, old.product, old.features], ['device', null, []]);
});

test('addresses: hostname, IPv4 and bracketed IPv6 with a port', () => {
  assert.deepEqual(parseAddress('127.0.0.1:5555'), { host: '127.0.0.1', port: 5555 });
  assert.deepEqual(parseAddress('phone-1.lan:40001'), { host: 'phone-1.lan', port: 40001 });
  assert.deepEqual(parseAddress('[::1]:7000'), { host: '::1', port: 7000 });
  for (const bad of ['127.0.0.1', '::1:5555', 'host:0', 'host:65536', 'a b:1', '']) assert.equal(parseAddress(bad), null, bad);
});
