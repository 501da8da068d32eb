// The conformance suite against SQLite: a file in a temp dir (with the reopen tests) and :memory:.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { createSqliteStore, type Store } from '../../src/store/index.js';
import { storeConformance } from './conformance.js';

const dir = mkdtempSync(join(tmpdir(), 'adbfleet-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
const paths = new WeakMap<Store, string>();

async function openAt(path: string): Promise<Store> {
  const store = createSqliteStore({ path });
  await store.open();
  paths.set(store, path);
  return store;
}

storeConformance('sqlite file', () => openAt(join(dir, `db-${++n}.sqlite`)), {
  reopen: async (store) => {
    const path = paths.get(store);
    if (path === undefined) throw new Error('unknown store');
    await store.close();
    return openAt(path);
  },
});

storeConformance('sqlite :memory:', async () => {
  const store = createSqliteStore({ path: ':memory:', synchronous: 'NORMAL' });
  await store.open();
  return store;
});
