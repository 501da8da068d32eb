// Cross-check of the simulator's delayed_ack with an independent host: Tango (@yume-chan/adb) with
// delayed_ack offered runs commands, pushes a file our client pulls back, and pulls one ours pushed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReadableStream } from '@yume-chan/stream-extra';
import { startFleet } from '../../src/sim/index.js';
import { AdbPool } from '../../src/adb/index.js';
import { tangoConnect, tangoExec } from '../support/tango.js';
import { ADB_TIMEOUTS, testKey, testPublicKey } from '../support/index.js';

const MiB = 1024 * 1024;
const COMMANDS = ['echo hello world', 'ls /nonexistent', 'exit 3', 'seq 1 300000'];

test('Tango with delayed_ack and our client agree with the simulator, transfers both ways included', async (t) => {
  const fleet = await startFleet({ count: 1, auth: 'rsa', trustedKeys: [testPublicKey()] });
  t.after(() => fleet.close());
  const pool = new AdbPool({ ...ADB_TIMEOUTS, key: testKey() });
  t.after(() => pool.close());
  const dir = await mkdtemp(join(tmpdir(), 'adbfleet-tango-dack-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const inst = fleet.instances[0]!;
  const adb = await tangoConnect(inst.host, inst.port, testKey().privateKey, 32 * MiB);
  t.after(() => adb.close());
  assert.ok(adb.banner.features.includes('delayed_ack'), 'the device offers delayed_ack');

  for (const cmd of COMMANDS) {
    const theirs = await tangoExec(adb, cmd);
    // seq's 2 MB of output: several WRTEs in flight, all kept.
    const ours = await pool.exec(inst.address, cmd, { timeoutMs: 30_000, maxOutputBytes: 8 * MiB });
    assert.equal(ours.stdout.toString(), theirs.stdout.toString(), `stdout of ${cmd}`);
    assert.equal(ours.exitCode, theirs.exitCode, `exit code of ${cmd}`);
  }

  const data = randomBytes(3 * MiB + 12345);
  const sync = await adb.sync();
  try {
    await sync.write({
      filename: '/data/local/tmp/tango',
      file: new ReadableStream<Uint8Array>({
        start(controller) {
          for (let at = 0; at < data.length; at += 200_000) controller.enqueue(data.subarray(at, at + 200_000));
          controller.close();
        },
      }),
    });
    await pool.pull(inst.address, '/data/local/tmp/tango', join(dir, 'tango'), {});
    assert.ok((await readFile(join(dir, 'tango'))).equals(data), "Tango's push, pulled by us");

    await writeFile(join(dir, 'ours'), data);
    await pool.push(inst.address, join(dir, 'ours'), '/data/local/tmp/ours', {});
    const pieces: Uint8Array[] = [];
    const reader = sync.read('/data/local/tmp/ours').getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) pieces.push(r.value);
    assert.ok(Buffer.concat(pieces).equals(data), 'our push, pulled by Tango');
  } finally {
    await sync.dispose();
  }
});
