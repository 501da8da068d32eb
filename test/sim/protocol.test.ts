// The simulated adbd at the packet level, over real sockets: handshake, services, flow control,
// hang-up, malformed input.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Command, HEADER_SIZE, VERSION, VERSION_MIN, checksum } from '../../src/adb/wire/index.js';
import { startFleet, type Fleet } from '../../src/sim/index.js';
import { RawClient, decodeShellV2 } from './raw-client.js';

async function fleetFor(t: TestContext, opts: Partial<Parameters<typeof startFleet>[0]> = {}): Promise<Fleet> {
  const fleet = await startFleet({ count: 2, ...opts });
  t.after(() => fleet.close());
  return fleet;
}

async function clientFor(t: TestContext, port: number): Promise<RawClient> {
  const c = await RawClient.connect(port);
  t.after(() => c.close());
  return c;
}

test('CNXN: banner, version and max payload negotiated down to the host', async (t) => {
  const fleet = await fleetFor(t);
  const c = await clientFor(t, fleet.instances[1]!.port);
  const reply = await c.connectHandshake(VERSION, 64 * 1024);
  assert.equal(reply.command, Command.CNXN);
  assert.equal(reply.arg0, VERSION);
  assert.equal(reply.arg1, 64 * 1024);
  const banner = reply.payload.toString();
  assert.match(banner, /^device::ro\.product\.name=[^;]+;ro\.product\.model=[^;]+;ro\.product\.device=[^;]+;features=shell_v2,cmd,delayed_ack$/);
  // Output is cut to the host's size: a big seq never exceeds 64 KiB per WRTE.
  c.send(Command.OPEN, 5, 0, 'shell,v2,raw:seq 1 100000');
  let biggest = 0;
  for (;;) {
    const p = await c.next();
    if (p.command === Command.WRTE) {
      biggest = Math.max(biggest, p.payload.length);
      c.send(Command.OKAY, 5, p.arg0);
    } else if (p.command === Command.CLSE) break;
  }
  assert.ok(biggest > 32 * 1024 && biggest <= 64 * 1024, `largest WRTE ${biggest}`);
});

test('instances differ: serial in getprop, banner per profile', async (t) => {
  const fleet = await fleetFor(t, { count: 2 });
  const names: string[] = [];
  for (const inst of fleet.instances) {
    const c = await clientFor(t, inst.port);
    names.push((await c.connectHandshake()).payload.toString());
    const r = decodeShellV2((await c.run('shell,v2,raw:getprop ro.serialno')).data);
    assert.equal(r.stdout, `${inst.serial}\n`);
  }
  assert.notEqual(names[0], names[1]);
  assert.deepEqual(fleet.instances.map((i) => i.serial), ['sim-0001', 'sim-0002']);
});

test('OPEN with and without a trailing NUL; shell v2 carries stdout, stderr and exit code', async (t) => {
  const fleet = await fleetFor(t);
  const c = await clientFor(t, fleet.instances[0]!.port);
  await c.connectHandshake();
  for (const [id, payload] of [
    [1, 'shell,v2,raw:echo out; ls /nope; exit 7\0'],
    [2, 'shell,v2,raw:echo out; ls /nope; exit 7'],
  ] as const) {
    c.send(Command.OPEN, id, 0, payload);
    const chunks: Buffer[] = [];
    for (;;) {
      const p = await c.next();
      assert.equal(p.arg1, id);
      if (p.command === Command.WRTE) {
        chunks.push(p.payload);
        c.send(Command.OKAY, id, p.arg0);
      } else if (p.command === Command.CLSE) break;
    }
    assert.deepEqual(decodeShellV2(Buffer.concat(chunks)), { stdout: 'out\n', stderr: 'ls: /nope: No such file or directory\n', exit: 7 });
  }
  const j = fleet.journal();
  assert.deepEqual(j.map((e) => [e.command, e.service, e.streamId, e.exitCode, e.end]), [
    ['echo out; ls /nope; exit 7', 'shell,v2,raw', 1, 7, 'exit'],
    ['echo out; ls /nope; exit 7', 'shell,v2,raw', 2, 7, 'exit'],
  ]);
});

test('shell v1 and exec: raw output with stderr merged, no exit code', async (t) => {
  const fleet = await fleetFor(t, { features: [] });
  const c = await clientFor(t, fleet.instances[0]!.port);
  const reply = await c.connectHandshake();
  assert.match(reply.payload.toString(), /;features=$/);
  const v1 = await c.run('shell:echo a; cat /nope; exit 3', 3);
  assert.equal(v1.data.toString(), 'a\ncat: /nope: No such file or directory\n');
  const ex = await c.run('exec:getprop ro.build.version.sdk', 4);
  assert.equal(ex.data.toString(), '33\n');
  assert.deepEqual(fleet.journal().map((e) => [e.service, e.exitCode]), [['shell', 3], ['exec', 0]]);
});

test('flow control: one WRTE in flight until OKAY, output generated as acked', async (t) => {
  const fleet = await fleetFor(t);
  const c = await clientFor(t, fleet.instances[0]!.port);
  await c.connectHandshake(VERSION, 4096);
  c.send(Command.OPEN, 9, 0, 'shell,v2,raw:seq 1 1000000');
  assert.equal((await c.next()).command, Command.OKAY);
  const first = await c.next();
  assert.equal(first.command, Command.WRTE);
  // Without our OKAY the device must not send anything more on this stream.
  assert.ok(await c.silentFor(300), 'a second WRTE arrived before the first was acknowledged');
  let bytes = first.payload.length;
  c.send(Command.OKAY, 9, first.arg0);
  let writes = 1;
  for (;;) {
    const p = await c.next();
    if (p.command === Command.CLSE) break;
    assert.equal(p.command, Command.WRTE);
    assert.ok(p.payload.length <= 4096);
    bytes += p.payload.length;
    writes++;
    c.send(Command.OKAY, 9, p.arg0);
  }
  // 1..1000000 with newlines is 6,888,896 bytes of stdout, plus v2 framing.
  assert.ok(bytes > 6_888_896, `${bytes} bytes`);
  assert.ok(writes > 6_888_896 / 4096, `${writes} writes`);
  assert.equal(fleet.journal()[0]!.exitCode, 0);
});

test('CLSE from the host ends a running command (journaled as closed) and is answered', async (t) => {
  const fleet = await fleetFor(t);
  const c = await clientFor(t, fleet.instances[0]!.port);
  await c.connectHandshake();
  c.send(Command.OPEN, 4, 0, 'shell,v2,raw:sleep 1000');
  const ok = await c.next();
  assert.equal(ok.command, Command.OKAY);
  c.send(Command.CLSE, 4, ok.arg0);
  const clse = await c.next();
  assert.deepEqual([clse.command, clse.arg0, clse.arg1], [Command.CLSE, ok.arg0, 4]);
  const [e] = fleet.journal();
  assert.equal(e?.end, 'closed');
  assert.equal(e?.exitCode, null);
  assert.ok(e?.endedAt !== null);
  // The connection still works after the hang-up.
  assert.equal(decodeShellV2((await c.run('shell,v2,raw:echo still', 6)).data).stdout, 'still\n');
});

test('unknown services are refused with CLSE(0, id); stream traffic before CNXN is ignored', async (t) => {
  const fleet = await fleetFor(t);
  const c = await clientFor(t, fleet.instances[0]!.port);
  c.send(Command.OPEN, 1, 0, 'shell,v2,raw:echo early');
  assert.ok(await c.silentFor(200));
  await c.connectHandshake();
  c.send(Command.OPEN, 2, 0, 'framebuffer:\0');
  const p = await c.next();
  assert.deepEqual([p.command, p.arg0, p.arg1], [Command.CLSE, 0, 2]);
  assert.equal(fleet.journal().length, 0);
});

test('garbage from the host closes that connection only', async (t) => {
  const fleet = await fleetFor(t);
  const port = fleet.instances[0]!.port;
  const good = await clientFor(t, port);
  await good.connectHandshake();
  const cases: Buffer[] = [
    Buffer.from('this is not an adb packet at all!!'),
    (() => {
      const b = Buffer.alloc(HEADER_SIZE);
      b.writeUInt32LE(Command.OPEN, 0);
      b.writeUInt32LE(0x7fffffff, 12); // length far over the maximum
      b.writeUInt32LE(~Command.OPEN >>> 0, 20);
      return b;
    })(),
  ];
  for (const bytes of cases) {
    const bad = await clientFor(t, port);
    await bad.connectHandshake();
    bad.socket.write(bytes);
    await bad.closed;
  }
  // An OPEN with local-id 0 is a protocol violation too.
  const zero = await clientFor(t, port);
  await zero.connectHandshake();
  zero.send(Command.OPEN, 0, 0, 'shell:echo');
  await zero.closed;
  assert.equal(decodeShellV2((await good.run('shell,v2,raw:echo fine')).data).stdout, 'fine\n');
});

test('old hosts (version 0x01000000): checksums verified, and sent', async (t) => {
  const fleet = await fleetFor(t);
  const c = await clientFor(t, fleet.instances[0]!.port);
  const reply = await c.connectHandshake(VERSION_MIN, 256 * 1024);
  assert.equal(reply.arg0, VERSION_MIN);
  c.send(Command.OPEN, 1, 0, 'shell:echo sum', true);
  const okay = await c.next();
  assert.equal(okay.command, Command.OKAY);
  const w = await c.next();
  assert.equal(w.payload.toString(), 'sum\n');
  const raw = Buffer.concat(c.raw);
  const at = raw.indexOf(w.payload);
  assert.equal(raw.readUInt32LE(at - HEADER_SIZE + 16), checksum(w.payload));
  // A wrong checksum is garbage now.
  const open = Buffer.from(
    (() => {
      const b = Buffer.alloc(HEADER_SIZE + 4);
      b.writeUInt32LE(Command.OPEN, 0);
      b.writeUInt32LE(2, 4);
      b.writeUInt32LE(4, 12);
      b.writeUInt32LE(12345, 16);
      b.writeUInt32LE(~Command.OPEN >>> 0, 20);
      b.write('x:y\0', HEADER_SIZE);
      return b;
    })(),
  );
  c.socket.write(open);
  await c.closed;
});

test('payloads over the negotiated size close the connection', async (t) => {
  const fleet = await fleetFor(t);
  const c = await clientFor(t, fleet.instances[0]!.port);
  await c.connectHandshake(VERSION, 8192);
  c.send(Command.OPEN, 1, 0, `shell:echo ${'x'.repeat(9000)}`);
  await c.closed;
  assert.equal(fleet.journal().length, 0);
});

test('interactive shell over v2: stdin lines run in turn; close-stdin ends it', async (t) => {
  const fleet = await fleetFor(t);
  const c = await clientFor(t, fleet.instances[0]!.port);
  await c.connectHandshake();
  c.send(Command.OPEN, 3, 0, 'shell,v2,pty:');
  const ok = await c.next();
  assert.equal(ok.command, Command.OKAY);
  const stdin = (id: number, text: string): Buffer => {
    const h = Buffer.alloc(5);
    h[0] = id;
    h.writeUInt32LE(Buffer.byteLength(text), 1);
    return Buffer.concat([h, Buffer.from(text)]);
  };
  c.send(Command.WRTE, 3, ok.arg0, Buffer.concat([stdin(0, 'echo one\nfalse\n'), stdin(4, '')]));
  assert.deepEqual(decodeShellV2((await c.collect(3)).data), { stdout: 'sim-0001:/ $ one\nsim-0001:/ $ sim-0001:/ $ ', stderr: '', exit: 1 });
});

test('shell v2 stdin split anywhere across WRTEs (mid-header, mid-character) reads as one line', async (t) => {
  const fleet = await fleetFor(t);
  const c = await clientFor(t, fleet.instances[0]!.port);
  await c.connectHandshake();
  c.send(Command.OPEN, 3, 0, 'shell,v2,raw:');
  const ok = await c.next();
  assert.equal(ok.command, Command.OKAY);
  const text = Buffer.from('echo h\u00e9llo\n');
  const header = Buffer.alloc(5);
  header.writeUInt32LE(text.length, 1); // id 0: stdin
  const packet = Buffer.concat([header, text, Buffer.from([4, 0, 0, 0, 0])]); // then close-stdin
  const cuts = [0, 3, 5 + text.indexOf(0xc3) + 1, packet.length - 2, packet.length];
  for (let i = 1; i < cuts.length; i++) c.send(Command.WRTE, 3, ok.arg0, packet.subarray(cuts[i - 1], cuts[i]));
  assert.deepEqual(decodeShellV2((await c.collect(3)).data), { stdout: 'sim-0001:/ $ h\u00e9llo\nsim-0001:/ $ ', stderr: '', exit: 0 });
});
