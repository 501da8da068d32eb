import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { androidPublicKey, loadOrCreateKey, parseAndroidPublicKey, publicKeyOf, signToken, verifyTokenSignature } from '../../src/adb/index.js';

async function withTmp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'adbfleet-key-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('loadOrCreateKey makes a 2048-bit key once, mode 0600, and reads the same key back', () =>
  withTmp(async (dir) => {
    const data = join(dir, 'data');
    const a = loadOrCreateKey(data);
    assert.equal(a.path, join(data, 'adbkey'));
    assert.equal((await stat(a.path)).mode & 0o777, 0o600);
    assert.equal(a.privateKey.asymmetricKeyDetails?.modulusLength, 2048);
    const b = loadOrCreateKey(data);
    assert.ok(a.androidPublicKey.equals(b.androidPublicKey));
  }));

test('an existing PKCS#1 key named by keyPath is used instead, and the environment is not read', () =>
  withTmp(async (dir) => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const path = join(dir, 'mykey');
    await writeFile(path, privateKey.export({ type: 'pkcs1', format: 'pem' }), { mode: 0o600 });
    const given = loadOrCreateKey(join(dir, 'data'), { keyPath: path, name: 'ops@bastion' });
    assert.equal(given.path, path);
    assert.ok(given.androidPublicKey.equals(androidPublicKey(publicKeyOf(privateKey), 'ops@bastion')));
    assert.ok(!existsSync(join(dir, 'data', 'adbkey')), 'no key generated in the data dir');
    assert.throws(() => loadOrCreateKey(dir, { keyPath: join(dir, 'missing') }), /^Error: cannot read .*missing: ENOENT/);
    await writeFile(join(dir, 'notakey'), 'hello');
    assert.throws(() => loadOrCreateKey(dir, { keyPath: join(dir, 'notakey') }), /^Error: .*notakey: not a PEM private key/);

    const saved = process.env.ADBFLEET_ADB_KEY;
    process.env.ADBFLEET_ADB_KEY = path;
    try {
      const own = loadOrCreateKey(join(dir, 'data'), { name: 'ops@bastion' });
      assert.equal(own.path, join(dir, 'data', 'adbkey'), 'the variable is the CLI\'s to read');
      assert.ok(!own.androidPublicKey.equals(given.androidPublicKey));
    } finally {
      if (saved === undefined) delete process.env.ADBFLEET_ADB_KEY;
      else process.env.ADBFLEET_ADB_KEY = saved;
    }
  }));

test('token signatures verify under the Android-format public key', () => {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const token = randomBytes(20);
  const parsed = parseAndroidPublicKey(androidPublicKey(publicKeyOf(privateKey)));
  assert.ok(verifyTokenSignature(parsed, token, signToken(privateKey, token)));
  assert.ok(!verifyTokenSignature(parsed, randomBytes(20), signToken(privateKey, token)));
});

test("conformance: our Android public key equals Debian adb's adbkey.pub for adb's own key", async (t) => {
  if (spawnSync('adb', ['version']).status !== 0) return t.skip('adb is not installed');
  await withTmp(async (home) => {
    // `adb keygen` writes adbkey and adbkey.pub exactly as the adb server would on first start.
    const keyPath = join(home, 'adbkey');
    const r = spawnSync('adb', ['keygen', keyPath], { env: { ...process.env, HOME: home, ADB_EMU: '0' }, timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr?.toString());
    const pub = (await readFile(`${keyPath}.pub`, 'utf8')).split(' ')[0]!;
    const ours = androidPublicKey(publicKeyOf(await readFile(keyPath))).toString('utf8').split(' ')[0]!;
    assert.equal(ours, pub.trim());
    const loaded = loadOrCreateKey(join(home, 'data'), { keyPath });
    assert.equal(loaded.androidPublicKey.toString().split(' ')[0], pub.trim());
  });
});
