// Instance addresses: src/adb parses them to dial, src/core validates them for the admin API (the
// layers may not share code). The two must agree: every address the API accepts is one the worker
// can dial, to the same host, port and serial, and none the worker cannot parse gets registered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAdbServerAddress, parseAdbServerAddress, parseAddress } from '../../src/adb/index.js';
import { adbAddressProblem } from '../../src/core/index.js';

const ACCEPTED = [
  'localhost:5555', '10.0.0.1:1', '[::1]:5555', '[fe80::1:2]:5037', 'a-b.example.com:65535',
  'adb-server://127.0.0.1:5037/127.0.0.1:5555', 'adb-server://usb-host.lab:5037/R58M123ABC', 'adb-server://[::1]:5037/emulator-5554',
  'adb-server://10.0.0.9:5037/adb-R58M._adb-tls-connect._tcp', 'adb-server://h:1/[::1]:5555', 'adb-server://h:1/user@host',
];
const REFUSED = [
  'localhost', 'host:0', 'host:65536', '[::1]', 'host:5555/x', '', 'adb-server://', 'adb-server://h:5037', 'adb-server://h:5037/',
  'adb-server://h/s', 'adb-server://h:0/s', 'adb-server://h:5037/a b', 'adb-server://h:5037/a;b', 'adb-server://h:5037/a/b',
  `adb-server://h:5037/${'s'.repeat(129)}`, 'adb-server://h:5037/s\0',
];

test('what the admin API accepts, the worker parses to the same parts', () => {
  for (const a of ACCEPTED) {
    assert.equal(adbAddressProblem(a), null, a);
    if (isAdbServerAddress(a)) {
      const t = parseAdbServerAddress(a);
      assert.ok(!('problem' in t), `${a}: ${JSON.stringify(t)}`);
      assert.equal(`adb-server://${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}/${t.serial}`, a);
    } else {
      const hp = parseAddress(a);
      assert.ok(hp !== null, a);
      assert.equal(`${hp.host.includes(':') ? `[${hp.host}]` : hp.host}:${hp.port}`, a);
    }
  }
});

test('what the worker cannot parse, the admin API refuses, naming the rule', () => {
  for (const a of REFUSED) {
    const workerParses = isAdbServerAddress(a) ? !('problem' in parseAdbServerAddress(a)) : parseAddress(a) !== null;
    const problem = adbAddressProblem(a);
    assert.notEqual(problem, null, `the API accepts ${JSON.stringify(a)}`);
    if (!workerParses) continue;
    // The worker is looser about hosts only (it dials whatever resolves); never about serials or ports.
    assert.match(problem!, /host/, a);
  }
  assert.match((parseAdbServerAddress('adb-server://h:5037/a;b') as { problem: string }).problem, /serial/);
  assert.match((parseAdbServerAddress('adb-server://h:5037') as { problem: string }).problem, /SERIAL/);
});
