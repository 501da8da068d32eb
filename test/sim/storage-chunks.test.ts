// A pushed file's bytes are copied into chunks (the pieces it arrives in are views into a read
// buffer the next read reuses), and a replaced or removed file's chunks are reused by later
// pushes unless views of them were handed out: a pull under way must keep its bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { CHUNK, pooledBytes } from '../../src/sim/chunks.js';
import { DeviceState } from '../../src/sim/device-state.js';
import { fileBytes } from '../../src/sim/vfs.js';

const MiB = 1024 * 1024;

/** Writes bytes as a push does: in pieces from one reused buffer. */
function push(dev: DeviceState, path: string, bytes: Buffer, pieceSize = 64 * 1024 + 8): void {
  const w = dev.files.create(path, 0o644);
  assert.ok(typeof w !== 'string', `create ${path}: ${String(w)}`);
  const reused = Buffer.alloc(pieceSize);
  for (let off = 0; off < bytes.length; off += pieceSize) {
    const n = bytes.copy(reused, 0, off, off + pieceSize);
    assert.equal(w.write(reused.subarray(0, n)), null);
  }
  reused.fill(0xee); // what the next read would do to the buffer
  w.commit(Date.now());
}

function contents(dev: DeviceState, path: string): Buffer {
  const node = dev.files.file(path);
  assert.ok(typeof node !== 'string');
  return Buffer.concat(node.blob ?? []);
}

test('a pushed file keeps its bytes when the buffer it came from is reused', () => {
  const dev = new DeviceState('sim-0001', 0, 64 * MiB);
  for (const size of [0, 1, 100, 64 * 1024, 3 * MiB + 17]) {
    const bytes = randomBytes(size);
    push(dev, `/data/local/tmp/f${size}`, bytes);
    assert.ok(contents(dev, `/data/local/tmp/f${size}`).equals(bytes), `${size} bytes`);
    assert.equal(dev.files.stat(`/data/local/tmp/f${size}`)?.size, size);
  }
});

test("a replaced file's chunks are reused by the next push, but not while views of them are out", () => {
  const dev = new DeviceState('sim-0001', 0, 64 * MiB);
  const a = randomBytes(5 * MiB);
  push(dev, '/data/local/tmp/a', a);
  // A pull of it starts: the sync service holds views of its chunks until they are sent.
  const node = dev.files.file('/data/local/tmp/a');
  assert.ok(typeof node !== 'string');
  const pulling = fileBytes(node, dev.props);
  const pooled = pooledBytes();
  push(dev, '/data/local/tmp/a', randomBytes(5 * MiB));
  assert.equal(pooledBytes(), pooled, 'a viewed file replaced: nothing reused');
  push(dev, '/data/local/tmp/b', randomBytes(5 * MiB));
  assert.ok(Buffer.concat(pulling).equals(a), 'the pull under way still sends the old bytes');

  // Replaced without a view out: its chunks go back, and the next push takes them.
  const before = pooledBytes();
  push(dev, '/data/local/tmp/b', randomBytes(2 * MiB));
  // It took one chunk for its second MiB, and gave back the four of the old b's last 4 MiB.
  assert.ok(pooledBytes() >= before + 3 * CHUNK, `freed chunks pooled (${before} -> ${pooledBytes()})`);
  const c = randomBytes(3 * MiB);
  const taken = pooledBytes();
  push(dev, '/data/local/tmp/c', c);
  assert.ok(pooledBytes() < taken, 'the next push reused them');
  assert.ok(contents(dev, '/data/local/tmp/c').equals(c));
  assert.equal(dev.files.remove('/data/local/tmp/c'), null);
  assert.equal(dev.files.used, 5 * MiB + 2 * MiB, 'a and b count, c was freed');
});

test('an abandoned push gives its chunks back and counts nothing', () => {
  const dev = new DeviceState('sim-0001', 0, 64 * MiB);
  const w = dev.files.create('/data/local/tmp/cut', 0o644);
  assert.ok(typeof w !== 'string');
  assert.equal(w.write(randomBytes(3 * MiB)), null);
  const before = pooledBytes();
  w.abort();
  assert.ok(pooledBytes() > before);
  assert.equal(dev.files.used, 0);
  assert.equal(dev.files.stat('/data/local/tmp/cut'), null);
});
