// A database lost under its data directory (deleted, emptied, replaced) is noticed: ping fails
// while the store is open, and opening it again is refused with a message that says what to do.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { createSqliteStore, type Store } from '../../src/store/index.js';
import { tenantWithInstances } from './conformance/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'adbfleet-identity-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const freshPath = (): string => join(dir, `s-${++n}.db`);

async function opened(path: string): Promise<Store> {
  const store = createSqliteStore({ path });
  await store.open();
  return store;
}

function storedId(path: string): string {
  const db = new Database(path, { readonly: true });
  try {
    return (db.prepare("SELECT value FROM store_meta WHERE key = 'id'").get() as { value: string }).value;
  } finally {
    db.close();
  }
}

/** The refusal names the database, the marker, and both ways out. */
function refusal(path: string, what: RegExp): (e: unknown) => boolean {
  return (e: unknown) => {
    const m = (e as Error).message;
    assert.ok(m.includes(path), m);
    assert.ok(m.includes(`${path}.id`), m);
    assert.match(m, what);
    assert.match(m, /restore s-\d+\.db from a backup .* or remove .*\.id( and .*\.damaged)? to start with an empty database/);
    return true;
  };
}

test('a first open writes the marker with the id the database holds; reopening checks it and ping answers', async () => {
  const path = freshPath();
  let store = await opened(path);
  await store.ping();
  await store.ping();
  await store.close();
  const marker = readFileSync(`${path}.id`, 'utf8').trim();
  assert.match(marker, /^[0-9a-f]{32}$/);
  assert.equal(storedId(path), marker);
  store = await opened(path);
  await store.ping();
  await store.close();
  assert.equal(readFileSync(`${path}.id`, 'utf8').trim(), marker, 'the marker is kept');
});

test('the database deleted under an open store: ping fails, reopening is refused, removing the marker starts empty', async () => {
  const path = freshPath();
  const store = await opened(path);
  await tenantWithInstances(store, 1);
  for (const f of [path, `${path}-wal`, `${path}-shm`]) unlinkSync(f);
  await assert.rejects(store.ping(), /was deleted/);
  await store.close();
  await assert.rejects(opened(path), refusal(path, /is missing/));
  assert.equal(existsSync(path), false, 'the refused open created no empty database');

  unlinkSync(`${path}.id`);
  const fresh = await opened(path);
  assert.deepEqual(await fresh.listTenants(), []);
  await fresh.close();
});

test('only the WAL deleted under an open store: ping fails', async () => {
  const path = freshPath();
  const store = await opened(path);
  try {
    unlinkSync(`${path}-wal`);
    await assert.rejects(store.ping(), /-wal was deleted/);
  } finally {
    await store.close();
  }
});

test('the database truncated to 0 bytes: ping fails, reopening is refused', async () => {
  const path = freshPath();
  const store = await opened(path);
  await tenantWithInstances(store, 1);
  await store.close();
  const again = await opened(path);
  // Commits in the WAL only; enough of them that closing checkpoints them into the emptied file:
  // SQLite refuses (as corrupt) a checkpoint whose database would outgrow the file by more than
  // the WAL's frames plus 64 KiB, and the schema alone is past 64 KiB.
  await tenantWithInstances(again, 8);
  truncateSync(path, 0);
  await assert.rejects(again.ping(), /is empty \(0 bytes\)/);
  await again.close();
  assert.ok(statSync(path).size > 0, 'closing wrote the WAL back into the emptied file');
  await assert.rejects(opened(path), refusal(path, /was damaged while the service ran \(.*is empty \(0 bytes\)\) and holds only its last changes/));

  // Killed instead of closed: the file stays empty.
  const killed = freshPath();
  await (await opened(killed)).close();
  truncateSync(killed, 0);
  await assert.rejects(opened(killed), refusal(killed, /is empty \(0 bytes\)/));
});

test('the database replaced by another one (or by an empty SQLite file): reopening is refused', async () => {
  const path = freshPath();
  const other = freshPath();
  await (await opened(path)).close();
  await (await opened(other)).close();
  copyFileSync(other, path);
  await assert.rejects(opened(path), refusal(path, /is another database \([0-9a-f]{32}\)/));

  unlinkSync(path);
  const empty = new Database(path);
  empty.exec('CREATE TABLE unrelated (x)');
  empty.close();
  await assert.rejects(opened(path), refusal(path, /holds no adbfleet data/));
});

test('a database without a marker (from before it existed) is given one, with its own id', async () => {
  const path = freshPath();
  await (await opened(path)).close();
  const id = storedId(path);
  unlinkSync(`${path}.id`);
  await (await opened(path)).close();
  assert.equal(readFileSync(`${path}.id`, 'utf8').trim(), id);
});

test('an in-memory store has no marker and its ping writes and reads back', async () => {
  const store = await opened(':memory:');
  try {
    await store.ping();
    assert.equal(existsSync(':memory:.id'), false);
  } finally {
    await store.close();
  }
});

test("SQLite's own open errors name the file and the fix", async () => {
  const path = join(dir, 'a-directory.db');
  mkdirSync(path);
  await assert.rejects(opened(path), (e: Error) => {
    assert.equal(
      e.message,
      `cannot open the database ${path}: unable to open database file (SQLITE_CANTOPEN): its directory must exist and be writable ` +
        'by this user, as must the file, since SQLite creates its -wal and -shm files beside it',
    );
    return true;
  });
});
