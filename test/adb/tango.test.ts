// Cross-check: Tango (@yume-chan/adb), an independent implementation, runs the same commands on
// the simulator over TCP and must see exactly what our client sees.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startFleet } from '../../src/sim/index.js';
import { AdbPool } from '../../src/adb/index.js';
import { tangoConnect, tangoExec } from '../support/tango.js';
import { ADB_TIMEOUTS, MAX_OUTPUT_BYTES, testKey, testPublicKey } from '../support/index.js';

const COMMANDS = ['echo hello world', 'ls /nonexistent', 'exit 3', 'nosuchcmd', 'seq 1 20000', 'getprop ro.product.model', 'id', 'ls /'];

test('Tango and our client get the same stdout, stderr and exit codes from the simulator', async () => {
  const fleet = await startFleet({ count: 1, auth: 'rsa', trustedKeys: [testPublicKey()] });
  const pool = new AdbPool({ ...ADB_TIMEOUTS, key: testKey() });
  const inst = fleet.instances[0]!;
  let adb: Awaited<ReturnType<typeof tangoConnect>> | null = null;
  try {
    adb = await tangoConnect(inst.host, inst.port, testKey().privateKey);
    for (const cmd of COMMANDS) {
      const theirs = await tangoExec(adb, cmd);
      const ours = await pool.exec(inst.address, cmd, { timeoutMs: 30_000, maxOutputBytes: MAX_OUTPUT_BYTES });
      assert.equal(ours.stdout.toString(), theirs.stdout.toString(), `stdout of ${cmd}`);
      assert.equal(ours.stderr.toString(), theirs.stderr.toString(), `stderr of ${cmd}`);
      assert.equal(ours.exitCode, theirs.exitCode, `exit code of ${cmd}`);
    }
    const services = new Set(fleet.journal().map((e) => `${e.service} ${e.command}`));
    for (const cmd of COMMANDS) assert.ok(services.has(`shell,v2,raw ${cmd}`), `both ran ${cmd} through shell v2`);
  } finally {
    await adb?.close().catch(() => {});
    await pool.close();
    await fleet.close();
  }
});
