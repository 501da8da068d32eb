import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Command, HEADER_SIZE, MAX_PAYLOAD, PacketDecoder, PacketError, checksum, encodePacket, type Packet } from '../../src/adb/index.js';

function decodeAll(chunks: Buffer[], verifyChecksum = false): Packet[] {
  const out: Packet[] = [];
  const d = new PacketDecoder((p) => out.push({ ...p, payload: Buffer.from(p.payload) }));
  d.verifyChecksum = verifyChecksum;
  for (const c of chunks) d.push(c);
  assert.equal(d.buffered, 0, 'nothing left over');
  return out;
}

function splitAt(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  out.push(buf.subarray(prev));
  return out;
}

test('encodes the 24-byte header as protocol.txt lays it out', () => {
  const p = encodePacket(Command.WRTE, 7, 9, Buffer.from('hi'), true);
  assert.equal(p.length, HEADER_SIZE + 2);
  assert.equal(p.readUInt32LE(0), 0x45545257);
  assert.equal(p.readUInt32LE(4), 7);
  assert.equal(p.readUInt32LE(8), 9);
  assert.equal(p.readUInt32LE(12), 2);
  assert.equal(p.readUInt32LE(16), 'h'.charCodeAt(0) + 'i'.charCodeAt(0));
  assert.equal(p.readUInt32LE(20), (0x45545257 ^ 0xffffffff) >>> 0);
  assert.equal(p.subarray(24).toString(), 'hi');
});

test('decodes several packets in one chunk and one packet byte by byte', () => {
  const a = encodePacket(Command.OKAY, 1, 2);
  const b = encodePacket(Command.WRTE, 3, 4, Buffer.from('payload'));
  const together = decodeAll([Buffer.concat([a, b])]);
  assert.deepEqual(together.map((p) => [p.command, p.arg0, p.arg1, p.payload.toString()]), [
    [Command.OKAY, 1, 2, ''],
    [Command.WRTE, 3, 4, 'payload'],
  ]);
  const bytes = [...Buffer.concat([a, b])].map((x) => Buffer.from([x]));
  assert.deepEqual(decodeAll(bytes), together);
});

test('a 1 MiB payload split into many chunks decodes intact', () => {
  const payload = Buffer.alloc(MAX_PAYLOAD);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff;
  const wire = encodePacket(Command.WRTE, 1, 2, payload);
  const chunks: Buffer[] = [];
  for (let off = 0; off < wire.length; off += 1000) chunks.push(wire.subarray(off, off + 1000));
  const [p] = decodeAll(chunks);
  assert.ok(p !== undefined);
  assert.ok(p.payload.equals(payload));
});

test('rejects bad magic, unknown commands, oversize lengths and bad checksums', () => {
  const good = encodePacket(Command.OKAY, 1, 2);
  const badMagic = Buffer.from(good);
  badMagic.writeUInt32LE(0, 20);
  assert.throws(() => decodeAll([badMagic]), PacketError);
  const unknown = encodePacket(0x11223344, 0, 0);
  assert.throws(() => decodeAll([unknown]), /unknown command/);
  const big = Buffer.from(good);
  big.writeUInt32LE(MAX_PAYLOAD + 1, 12);
  assert.throws(() => decodeAll([big]), /exceeds max/);
  // Known to be garbage from its first four bytes, before a whole header has arrived.
  assert.throws(() => new PacketDecoder(() => {}).push(Buffer.from('GARBAGE')), /unknown command/);
  const sum = encodePacket(Command.WRTE, 1, 2, Buffer.from('abc'), true);
  sum.writeUInt32LE(checksum(Buffer.from('abc')) + 1, 16);
  assert.throws(() => decodeAll([sum], true), /checksum/);
  assert.equal(decodeAll([sum], false).length, 1, 'the checksum is ignored at version 0x01000001');
});

const packetArb = fc.record({
  command: fc.constantFrom(...Object.values(Command)),
  arg0: fc.nat({ max: 0xffffffff }),
  arg1: fc.nat({ max: 0xffffffff }),
  payload: fc.uint8Array({ maxLength: 300 }),
});

test('fuzz: valid packets split at random points decode identically', () => {
  fc.assert(
    fc.property(fc.array(packetArb, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 10 }), (packets, cuts) => {
      const wire = Buffer.concat(packets.map((p) => encodePacket(p.command, p.arg0, p.arg1, Buffer.from(p.payload))));
      const decoded = decodeAll(splitAt(wire, cuts));
      assert.deepEqual(
        decoded.map((p) => [p.command, p.arg0, p.arg1, [...p.payload]]),
        packets.map((p) => [p.command, p.arg0, p.arg1, [...p.payload]]),
      );
    }),
    { numRuns: 300 },
  );
});

test('fuzz: random and truncated bytes either decode or throw PacketError', () => {
  const valid = fc.array(packetArb, { maxLength: 4 }).map((ps) => Buffer.concat(ps.map((p) => encodePacket(p.command, p.arg0, p.arg1, Buffer.from(p.payload)))));
  const input = fc.oneof(
    fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
    fc.tuple(valid, fc.nat()).map(([b, n]) => b.subarray(0, n % (b.length + 1))),
    fc.tuple(valid, fc.nat(), fc.nat({ max: 255 })).map(([b, i, v]) => {
      const c = Buffer.from(b);
      if (c.length > 0) c[i % c.length] = v;
      return c;
    }),
  );
  fc.assert(
    fc.property(input, fc.array(fc.nat(), { maxLength: 5 }), (bytes, cuts) => {
      const d = new PacketDecoder(() => {});
      try {
        for (const c of splitAt(bytes, cuts)) d.push(c);
      } catch (e) {
        assert.ok(e instanceof PacketError, `threw ${String(e)}`);
      }
    }),
    { numRuns: 500 },
  );
});

/** Decodes with onWritePiece: a split WRTE comes back as its pieces, gathered here with what marks them. */
function decodeInPieces(chunks: Buffer[], verifyChecksum: boolean): { packets: Packet[]; pieced: number } {
  const out: Packet[] = [];
  let open: { arg0: number; arg1: number; length: number; pieces: Buffer[] } | null = null;
  let pieced = 0;
  const d = new PacketDecoder(
    (p) => {
      assert.equal(open, null, 'a whole packet inside a WRTE still arriving in pieces');
      out.push({ ...p, payload: Buffer.from(p.payload) });
    },
    MAX_PAYLOAD,
    (arg0, arg1, piece, last, length) => {
      open ??= { arg0, arg1, length, pieces: [] };
      assert.deepEqual([arg0, arg1, length], [open.arg0, open.arg1, open.length], 'every piece names its WRTE');
      assert.ok(piece.length > 0, 'no empty pieces');
      open.pieces.push(Buffer.from(piece));
      const got = open.pieces.reduce((n, b) => n + b.length, 0);
      assert.equal(last, got === length, 'last marks the piece that completes the payload');
      if (last) {
        out.push({ command: Command.WRTE, arg0, arg1, payload: Buffer.concat(open.pieces) });
        open = null;
        pieced++;
      }
    },
  );
  d.verifyChecksum = verifyChecksum;
  for (const c of chunks) d.push(c);
  assert.equal(open, null, 'no WRTE left half done');
  assert.equal(d.buffered, 0);
  return { packets: out, pieced };
}

test('fuzz: with onWritePiece, a WRTE split across chunks arrives in pieces, other packets whole, all in order', () => {
  const wrte = fc.record({
    command: fc.constant(Command.WRTE),
    arg0: fc.nat({ max: 0xffffffff }),
    arg1: fc.nat({ max: 0xffffffff }),
    payload: fc.uint8Array({ maxLength: 3000 }),
  });
  fc.assert(
    fc.property(fc.array(fc.oneof(packetArb, wrte), { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 12 }), fc.boolean(), (packets, cuts, verify) => {
      const wire = Buffer.concat(packets.map((p) => encodePacket(p.command, p.arg0, p.arg1, Buffer.from(p.payload), verify)));
      const { packets: decoded, pieced } = decodeInPieces(splitAt(wire, cuts), verify);
      assert.deepEqual(
        decoded.map((p) => [p.command, p.arg0, p.arg1, [...p.payload]]),
        packets.map((p) => [p.command, p.arg0, p.arg1, [...p.payload]]),
      );
      // Checksums are verified over the whole payload: then nothing comes in pieces.
      if (verify) assert.equal(pieced, 0);
    }),
    { numRuns: 500 },
  );
});

test('with onWritePiece, a 1 MiB WRTE in 64 KiB chunks is handed on as views of them, never copied whole', () => {
  const payload = randomPayload(MAX_PAYLOAD);
  const wire = encodePacket(Command.WRTE, 5, 6, payload);
  const chunks: Buffer[] = [];
  for (let off = 0; off < wire.length; off += 64 * 1024) chunks.push(wire.subarray(off, off + 64 * 1024));
  const pieces: Buffer[] = [];
  const d = new PacketDecoder(() => assert.fail('no whole packet'), MAX_PAYLOAD, (_a, _b, piece) => pieces.push(piece));
  for (const c of chunks) d.push(c);
  assert.equal(pieces.length, chunks.length);
  assert.ok(pieces.every((p, i) => p.buffer === chunks[i]!.buffer), 'each piece is a view into its chunk');
  assert.ok(Buffer.concat(pieces).equals(payload));
});

function randomPayload(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 131 + 7) & 0xff;
  return b;
}
