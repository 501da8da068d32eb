// RSA authentication as adbd does it: TOKEN, SIGNATURE checked against trusted keys,
// RSAPUBLICKEY accepted in `rsa` mode (the user taps "allow"), never under auth-reject.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { AuthType, Command, androidPublicKey, signToken } from '../../src/adb/wire/index.js';
import { startFleet } from '../../src/sim/index.js';
import { testKey, testPublicKey } from '../support/index.js';
import { RawClient, decodeShellV2 } from './raw-client.js';

test('rsa mode: a trusted key signs in; an untrusted one gets a new token, then is accepted by RSAPUBLICKEY', async (t) => {
  const trusted = testKey();
  const fleet = await startFleet({ count: 2, auth: 'rsa', trustedKeys: [testPublicKey()] });
  t.after(() => fleet.close());
  const [a, b] = fleet.instances as [(typeof fleet.instances)[0], (typeof fleet.instances)[0]];

  const c1 = await RawClient.connect(a.port);
  t.after(() => c1.close());
  const tok = await c1.connectHandshake();
  assert.deepEqual([tok.command, tok.arg0, tok.payload.length], [Command.AUTH, AuthType.Token, 20]);
  // Stream traffic before authentication is ignored.
  c1.send(Command.OPEN, 1, 0, 'shell,v2,raw:echo sneaky');
  assert.ok(await c1.silentFor(200));
  c1.send(Command.AUTH, AuthType.Signature, 0, signToken(trusted.privateKey, tok.payload));
  const cnxn = await c1.next();
  assert.equal(cnxn.command, Command.CNXN);
  assert.equal(decodeShellV2((await c1.run('shell,v2,raw:whoami', 2)).data).stdout, 'shell\n');

  const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const c2 = await RawClient.connect(a.port);
  t.after(() => c2.close());
  const t1 = await c2.connectHandshake();
  c2.send(Command.AUTH, AuthType.Signature, 0, signToken(other.privateKey, t1.payload));
  const t2 = await c2.next();
  assert.deepEqual([t2.command, t2.arg0], [Command.AUTH, AuthType.Token]);
  assert.ok(!t2.payload.equals(t1.payload), 'a fresh token each time');
  // Garbage where a signature should be is just a failed signature.
  c2.send(Command.AUTH, AuthType.Signature, 0, Buffer.alloc(256, 7));
  const t3 = await c2.next();
  assert.equal(t3.arg0, AuthType.Token);
  c2.send(Command.AUTH, AuthType.RsaPublicKey, 0, androidPublicKey(other.publicKey, 'tester@host'));
  assert.equal((await c2.next()).command, Command.CNXN);

  // Instance a now remembers the key; instance b never saw it.
  const c3 = await RawClient.connect(a.port);
  t.after(() => c3.close());
  const t4 = await c3.connectHandshake();
  c3.send(Command.AUTH, AuthType.Signature, 0, signToken(other.privateKey, t4.payload));
  assert.equal((await c3.next()).command, Command.CNXN);
  const c4 = await RawClient.connect(b.port);
  t.after(() => c4.close());
  const t5 = await c4.connectHandshake();
  c4.send(Command.AUTH, AuthType.Signature, 0, signToken(other.privateKey, t5.payload));
  assert.equal((await c4.next()).arg0, AuthType.Token);
});

test('auth-reject: no signature or public key is ever accepted, even in none mode', async (t) => {
  const key = testKey();
  const fleet = await startFleet({ count: 1, trustedKeys: [testPublicKey()] });
  t.after(() => fleet.close());
  const inst = fleet.instances[0]!;
  inst.setFault({ kind: 'auth-reject' });
  const c = await RawClient.connect(inst.port);
  t.after(() => c.close());
  const tok = await c.connectHandshake();
  assert.deepEqual([tok.command, tok.arg0], [Command.AUTH, AuthType.Token]);
  c.send(Command.AUTH, AuthType.Signature, 0, signToken(key.privateKey, tok.payload));
  const again = await c.next();
  assert.deepEqual([again.command, again.arg0], [Command.AUTH, AuthType.Token]);
  c.send(Command.AUTH, AuthType.RsaPublicKey, 0, androidPublicKey(testPublicKey()));
  assert.ok(await c.silentFor(300), 'the public key must go unanswered');
  inst.setFault(null);
  const ok = await RawClient.connect(inst.port);
  t.after(() => ok.close());
  assert.equal((await ok.connectHandshake()).command, Command.CNXN);
});
