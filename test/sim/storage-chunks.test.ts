// A pushed file's bytes are kept in chunks (the pieces it arrives in are views into a read buffer
// the next read reuses), and chunks nothing holds any more are reused by later pushes unless views
// of them were handed out: a pull under way must keep its bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { CHUNK, POOL_MAX_BYTES, pooledBytes } from '../../src/sim/chunks.js';
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

test('chunks nothing holds any more are reused by the next push', () => {
  const dev = new DeviceState('sim-0001', 0, 64 * MiB);
  push(dev, '/data/local/tmp/x', randomBytes(4 * MiB));
  // Another file's chunks become the candidates: x's are held by x alone.
  push(dev, '/data/local/tmp/y', randomBytes(4 * MiB));
  const before = pooledBytes();
  assert.equal(dev.files.remove('/data/local/tmp/x'), null);
  // Its 3 chunks of CHUNK bytes (its last 3 MiB) went back.
  assert.equal(pooledBytes(), Math.min(POOL_MAX_BYTES, before + 3 * CHUNK));
  const z = randomBytes(4 * MiB);
  push(dev, '/data/local/tmp/z', z);
  assert.equal(pooledBytes(), before, 'the next push took them');
  assert.ok(contents(dev, '/data/local/tmp/z').equals(z));
  assert.equal(dev.files.used, 8 * MiB, 'y and z count, x was freed');
});

test('chunks a view was handed out of (a pull under way) are never reused, even when shared and every file holding them is gone', () => {
  const dev = new DeviceState('sim-0001', 0, 64 * MiB);
  const a = randomBytes(5 * MiB);
  push(dev, '/data/local/tmp/a', a);
  push(dev, '/data/local/tmp/a2', a);
  // A pull of it starts: the sync service holds views of its chunks until they are sent.
  const node = dev.files.file('/data/local/tmp/a');
  assert.ok(typeof node !== 'string');
  const pulling = fileBytes(node, dev.props);
  assert.equal(dev.files.remove('/data/local/tmp/a'), null);
  assert.equal(dev.files.remove('/data/local/tmp/a2'), null);
  // Other pushes replace the candidates (so nothing holds a's chunks) and take pooled chunks.
  for (let i = 0; i < 4; i++) push(dev, `/data/local/tmp/other${i % 2}`, randomBytes(6 * MiB));
  assert.ok(Buffer.concat(pulling).equals(a), 'the pull under way still sends the old bytes');
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
