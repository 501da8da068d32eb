// BlobStore.write: what it stores, and a source past the limit however its chunks come (at once,
// after a microtask, a tick, an immediate): a BlobTooLargeError for the caller, no temporary file,
// and no 'error' event left for nobody (which crashed the process as an uncaught exception, or
// left the write waiting for a drain that never came).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobStore, BlobTooLargeError } from '../../src/artifacts/index.js';

let dir = '';
let blobs: BlobStore;
const uncaught: Error[] = [];
const onUncaught = (err: Error): void => void uncaught.push(err);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'adbfleet-blobs-'));
  blobs = new BlobStore(dir);
  await blobs.init();
  process.on('uncaughtException', onUncaught);
});
after(async () => {
  process.off('uncaughtException', onUncaught);
  await rm(dir, { recursive: true, force: true });
});

test('a write stores the bytes under their sha256; the same bytes again are kept once', async () => {
  const bytes = Buffer.alloc(3 * 1024 * 1024 + 17, 'blob');
  const chunks = async function* (): AsyncGenerator<Buffer> {
    for (let at = 0; at < bytes.length; at += 65_536) yield bytes.subarray(at, at + 65_536);
  };
  const ref = await blobs.write(chunks(), bytes.length);
  assert.deepEqual(ref, { sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length });
  assert.ok((await readFile(blobs.pathOf(ref.sha256))).equals(bytes));
  assert.deepEqual(await blobs.write(chunks(), bytes.length), ref);
  assert.deepEqual(await readdir(blobs.tempDir), []);
});

test('a source that fails: its error, and no temporary file', async () => {
  const failing = async function* (): AsyncGenerator<Buffer> {
    yield Buffer.alloc(1000);
    throw new Error('the client went away');
  };
  await assert.rejects(blobs.write(failing(), 10_000), /the client went away/);
  assert.deepEqual(await readdir(blobs.tempDir), []);
});

const PACES: Record<string, () => Promise<unknown>> = {
  'at once': async () => {},
  'after a microtask': () => Promise.resolve(),
  'after a tick': () => new Promise((r) => process.nextTick(r)),
  'after an immediate': () => new Promise((r) => setImmediate(r)),
};

for (const [pace, wait] of Object.entries(PACES)) {
  for (const size of [1_000, 16_384, 65_536]) {
    test(`past the limit, chunks of ${size} bytes ${pace}: BlobTooLargeError, nothing left, nothing uncaught`, async () => {
      const source = async function* (): AsyncGenerator<Buffer> {
        for (let i = 0; i < 40; i++) {
          yield Buffer.alloc(size, i);
          await wait();
        }
      };
      let timer: NodeJS.Timeout | undefined;
      const hung = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('the write never settled')), 10_000);
      });
      try {
        await assert.rejects(Promise.race([blobs.write(source(), size * 10 + 5), hung]), BlobTooLargeError);
      } finally {
        clearTimeout(timer);
      }
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(uncaught, []);
      assert.deepEqual(await readdir(blobs.tempDir), []);
    });
  }
}
