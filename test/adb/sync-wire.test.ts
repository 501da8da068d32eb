// The sync framing both ends share (src/adb/wire/sync.ts): frames split anywhere across payloads
// come out whole, streamed DATA in order; an unknown id or an oversize length is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  SYNC_DATA_MAX,
  SYNC_HEADER_SIZE,
  SyncId,
  SyncProtocolError,
  SyncReader,
  encodeSyncDent,
  syncHeader,
  syncRequest,
  type SyncShape,
} from '../../src/adb/index.js';

const PATH: SyncShape = { headerSize: SYNC_HEADER_SIZE, lengthAt: 4, streamed: false, maxLength: 1024 };
const DATA: SyncShape = { headerSize: SYNC_HEADER_SIZE, lengthAt: 4, streamed: true, maxLength: SYNC_DATA_MAX };
const BARE: SyncShape = { headerSize: SYNC_HEADER_SIZE, lengthAt: null, streamed: false, maxLength: 0 };
const DENT: SyncShape = { headerSize: 20, lengthAt: 16, streamed: false, maxLength: 1024 };

const shape = (id: number): SyncShape | null =>
  id === SyncId.SEND || id === SyncId.FAIL ? PATH : id === SyncId.DATA ? DATA : id === SyncId.DONE ? BARE : id === SyncId.DENT ? DENT : null;

/** What a reader makes of the bytes, fed in the given pieces. */
function read(pieces: Buffer[]): string[] {
  const seen: string[] = [];
  let data: Buffer[] = [];
  const r = new SyncReader(shape, {
    frame: (id, header, body) => {
      if (data.length > 0) seen.push(`data ${Buffer.concat(data).toString('hex')}`);
      data = [];
      seen.push(`${id.toString(16)} ${header.toString('hex')} ${body.toString('utf8')}`);
    },
    data: (piece) => data.push(Buffer.from(piece)),
  });
  for (const p of pieces) r.push(p);
  if (data.length > 0) seen.push(`data ${Buffer.concat(data).toString('hex')}`);
  assert.ok(r.idle, 'the reader ends between frames');
  return seen;
}

test('frames split at any points read the same as whole', () => {
  const bytes = Buffer.concat([
    syncRequest(SyncId.SEND, '/data/local/tmp/f,33188'),
    syncHeader(SyncId.DATA, 5),
    Buffer.from('hello'),
    syncHeader(SyncId.DATA, 0),
    syncHeader(SyncId.DATA, 3),
    Buffer.from([0, 1, 2]),
    syncHeader(SyncId.DONE, 1_700_000_000),
    encodeSyncDent({ name: 'x.bin', mode: 0o100644, size: 9, mtime: 1 }),
    syncRequest(SyncId.FAIL, 'open failed: No such file or directory'),
  ]);
  const whole = read([bytes]);
  assert.equal(whole.length, 9);
  fc.assert(
    fc.property(fc.uniqueArray(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 12 }), (cuts) => {
      const at = [0, ...[...cuts].sort((x, y) => x - y), bytes.length];
      const pieces = at.slice(1).map((end, i) => bytes.subarray(at[i], end));
      assert.deepEqual(read(pieces), whole);
    }),
  );
});

test('an unknown id and an announced length past the shape are refused, naming them', () => {
  assert.throws(() => read([syncHeader(SyncId.QUIT, 0)]), (e: unknown) => e instanceof SyncProtocolError && /unexpected sync id QUIT/.test(e.message));
  assert.throws(() => read([syncHeader(SyncId.DATA, SYNC_DATA_MAX + 1)]), (e: unknown) => e instanceof SyncProtocolError && /DATA of 65537 bytes announced \(at most 65536\)/.test(e.message));
});
