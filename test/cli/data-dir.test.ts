// A data directory that cannot be used is refused at start with a message that names the path, the
// setting and the fix, not Node's "EEXIST ... mkdir" or SQLite's "unable to open database file".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { DEFAULT_CONFIG, type Config } from '../../src/core/config.js';
import { startService } from '../../src/cli/service.js';

const silent = pino({ level: 'silent' });
const configFor = (dataDir: string): Config => ({ ...DEFAULT_CONFIG, port: 0, dataDir, adminToken: `adm_${randomUUID()}` });

test('a file where the data directory should be: refused, naming the path, the setting and the fix', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'adbfleet-datadir-'));
  try {
    const file = join(dir, 'data');
    writeFileSync(file, 'not a directory');
    await assert.rejects(startService(configFor(file), silent), (e: Error) => {
      assert.equal(e.message, `the data directory ${file} (--data / ADBFLEET_DATA) is a file, not a directory: move the file away, or point --data / ADBFLEET_DATA at a directory`);
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a read-only data directory holding a database: refused, naming the path and the fix', async (t) => {
  const mnt = mkdtempSync(join(tmpdir(), 'adbfleet-ro-'));
  const mount = (...args: string[]): boolean => spawnSync('mount', args, { stdio: 'ignore' }).status === 0;
  if (!mount('-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', mnt)) {
    rmSync(mnt, { recursive: true, force: true });
    t.skip('mounting a tmpfs is not permitted here');
    return;
  }
  try {
    const data = join(mnt, 'data');
    mkdirSync(data);
    const first = await startService(configFor(data), silent);
    await first.close();
    assert.ok(mount('-o', 'remount,ro', mnt), 'remount read-only');
    await assert.rejects(startService(configFor(data), silent), (e: Error) => {
      assert.match(e.message, new RegExp(`^the data directory ${data} \\(--data / ADBFLEET_DATA\\) is not writable \\(EROFS\\)`));
      assert.match(e.message, /make it a directory this user can write \(a read-write mount\), or point --data \/ ADBFLEET_DATA at one/);
      return true;
    });
  } finally {
    spawnSync('umount', [mnt]);
    rmSync(mnt, { recursive: true, force: true });
  }
});
