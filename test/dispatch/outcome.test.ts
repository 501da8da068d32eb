import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { executeMsg, utf8Prefix } from '../../src/dispatch/index.js';

test('utf8Prefix never splits a character and keeps as much as fits', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 400 }), fc.integer({ min: 0, max: 1200 }), (s, max) => {
      const buf = Buffer.from(s, 'utf8');
      const cut = utf8Prefix(buf, max);
      assert.ok(cut.length <= max);
      assert.ok(buf.subarray(0, cut.length).equals(cut));
      // Valid UTF-8 in, valid UTF-8 out: the cut decodes to a prefix of the string.
      assert.ok(s.startsWith(cut.toString('utf8')));
      // At most one character (4 bytes) was given up.
      assert.ok(cut.length > Math.min(max, buf.length) - 4);
    }),
  );
});

test('execute_msg is the first 1024 bytes cut back to a character boundary; invalid bytes become U+FFFD', () => {
  const out = Buffer.from('a' + 'é'.repeat(600), 'utf8'); // 'a' then 2-byte characters: byte 1024 splits one
  assert.equal(executeMsg(out), 'a' + 'é'.repeat(511));
  assert.equal(executeMsg(Buffer.from('x'.repeat(2000))), 'x'.repeat(1024));
  assert.equal(executeMsg(Buffer.from([0x68, 0x69, 0xff, 0x0a])), 'hi\ufffd\n');
  assert.equal(executeMsg(Buffer.alloc(0)), '');
});

test('execute_msg stays within 1024 bytes when invalid bytes become 3-byte U+FFFD', () => {
  const msg = executeMsg(Buffer.alloc(2000, 0xff));
  assert.ok(Buffer.byteLength(msg) <= 1024, `${Buffer.byteLength(msg)} bytes`);
  assert.equal(msg, '\ufffd'.repeat(341));
  const mixed = executeMsg(Buffer.concat([Buffer.from('ok '), Buffer.alloc(600, 0xfe), Buffer.from('tail')]));
  assert.ok(Buffer.byteLength(mixed) <= 1024);
  assert.ok(mixed.startsWith('ok \ufffd'));
});
