// The simulator against Debian's real `adb`: connect, shell v2 and v1, exec-out, RSA auth with
// adb's own key, an unauthorized instance, reboot and reconnect. Isolated HOME and server port.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startFleet, type Fleet } from '../../src/sim/index.js';
import { debianAdbSkip as skip, startAdbServer, until, type AdbRun, type AdbServer } from '../support/index.js';

let server: AdbServer | null = null;
let fleet: Fleet | null = null;

const adb = (args: string[], timeoutMs?: number, input?: string): Promise<AdbRun> => server!.run(args, timeoutMs, input);
const waitForState = (address: string, state: string): Promise<void> => server!.waitForState(address, state);

before(async () => {
  if (skip !== false) return;
  server = await startAdbServer();
  fleet = await startFleet({ count: 3, auth: 'rsa', rebootDelayMs: 1000 });
});

after(async () => {
  await server?.close();
  await fleet?.close();
});

test('adb connect in rsa mode: adb presents its key, the instance accepts it, then its signatures', { skip }, async () => {
  const esc = (a: string): string => a.replace(/[.[\]]/g, '\\$&');
  for (const inst of fleet!.instances.slice(0, 2)) {
    // First contact: adb's signature is unknown, it sends its public key and reports the device as
    // unauthorized until the "user" accepts, as with a real phone's dialog. `adb connect` exits 0
    // either way: the output is what tells.
    const r = await adb(['connect', inst.address]);
    assert.match(r.stdout, new RegExp(`(connected to|failed to authenticate to) ${esc(inst.address)}`), r.stdout + r.stderr);
    await waitForState(inst.address, 'device');
  }
  // Second contact: the key is now trusted, so the signature alone gets in.
  const a = fleet!.instances[0]!.address;
  await adb(['disconnect', a]);
  const again = await adb(['connect', a]);
  assert.match(again.stdout, new RegExp(`^connected to ${esc(a)}`), again.stdout + again.stderr);
  await waitForState(a, 'device');
  const r = await adb(['devices', '-l']);
  assert.match(r.stdout, /product:kpsim_phone model:KooSim_Phone device:kpsim/);
});

test('adb shell over shell v2: stdout, stderr and exit code apart', { skip }, async () => {
  const a = fleet!.instances[0]!.address;
  const r = await adb(['-s', a, 'shell', 'echo out; ls /nope; exit 3']);
  assert.deepEqual(r, { stdout: 'out\n', stderr: 'ls: /nope: No such file or directory\n', code: 3 });
  const ok = await adb(['-s', a, 'shell', 'getprop', 'ro.serialno']);
  assert.deepEqual(ok, { stdout: 'sim-0001\n', stderr: '', code: 0 });
  const missing = await adb(['-s', a, 'shell', 'nosuchtool']);
  assert.deepEqual(missing, { stdout: '', stderr: '/system/bin/sh: nosuchtool: inaccessible or not found\n', code: 127 });
  const big = await adb(['-s', a, 'shell', 'seq', '1', '300000']);
  assert.equal(big.code, 0);
  const lines = big.stdout.split('\n');
  assert.equal(lines.length, 300001);
  assert.equal(lines[299999], '300000');
});

test('adb shell -x (v1): one raw stream, no exit code; exec-out', { skip }, async () => {
  const a = fleet!.instances[1]!.address;
  const r = await adb(['-s', a, 'shell', '-x', 'echo out; ls /nope; exit 3']);
  assert.equal(r.stdout, 'out\nls: /nope: No such file or directory\n');
  assert.equal(r.code, 0);
  const e = await adb(['-s', a, 'exec-out', 'getprop ro.serialno']);
  assert.deepEqual(e, { stdout: 'sim-0002\n', stderr: '', code: 0 });
  const served = fleet!.instance('sim-0002')!.journal();
  assert.deepEqual(
    served.map((j) => [j.service.split(',')[0], j.command, j.end]),
    [
      ['shell', 'echo out; ls /nope; exit 3', 'exit'],
      ['exec', 'getprop ro.serialno', 'exit'],
    ],
  );
});

test('an auth-reject instance shows as unauthorized', { skip }, async () => {
  const inst = fleet!.instances[2]!;
  inst.setFault({ kind: 'auth-reject' });
  await adb(['connect', inst.address]);
  await waitForState(inst.address, 'unauthorized');
  const r = await adb(['-s', inst.address, 'shell', 'echo no'], 20000);
  assert.notEqual(r.code, 0);
  assert.equal(fleet!.instance('sim-0003')!.journal().length, 0);
  await adb(['disconnect', inst.address]);
});

test('adb reboot drops the instance; it comes back and adb reconnects', { skip }, async () => {
  const inst = fleet!.instances[0]!;
  const r = await adb(['-s', inst.address, 'reboot']);
  assert.equal(r.code, 0, r.stderr);
  await until('the instance to come back', () => inst.state === 'online', 30000);
  const deadline = Date.now() + 60000;
  let back: AdbRun = { stdout: '', stderr: '', code: null };
  while (Date.now() < deadline) {
    back = await adb(['-s', inst.address, 'shell', 'echo back'], 10000);
    if (back.code === 0) break;
    await adb(['connect', inst.address], 10000);
    await new Promise((res) => setTimeout(res, 300));
  }
  assert.deepEqual(back, { stdout: 'back\n', stderr: '', code: 0 });
  const services = inst.journal().map((j) => j.service);
  assert.ok(services.includes('reboot'), services.join(' '));
});
