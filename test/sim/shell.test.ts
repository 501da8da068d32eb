// The virtual Android shell on its own: outputs and exit codes as a toybox/mksh device gives them.
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeviceState } from '../../src/sim/device-state.js';
import { VirtualShell } from '../../src/sim/shell/shell.js';
import { EOF, WAIT } from '../../src/sim/shell/proc.js';

const newShell = (serial = 'sim-0001', index = 0): VirtualShell => new VirtualShell(new DeviceState(serial, index));

async function expectRun(sh: VirtualShell, line: string, stdout: string | RegExp, stderr: string | RegExp = '', exitCode = 0): Promise<void> {
  const r = await sh.run(line);
  if (typeof stdout === 'string') assert.equal(r.stdout, stdout, `stdout of ${line}`);
  else assert.match(r.stdout, stdout, `stdout of ${line}`);
  if (typeof stderr === 'string') assert.equal(r.stderr, stderr, `stderr of ${line}`);
  else assert.match(r.stderr, stderr, `stderr of ${line}`);
  assert.equal(r.exitCode, exitCode, `exit code of ${line}`);
}

test('unknown commands, exit codes and lists', async () => {
  const sh = newShell();
  await expectRun(sh, 'frobnicate --now', '', '/system/bin/sh: frobnicate: inaccessible or not found\n', 127);
  await expectRun(sh, 'true', '');
  await expectRun(sh, 'false', '', '', 1);
  await expectRun(sh, 'exit 42', '', '', 42);
  await expectRun(sh, 'exit 300', '', '', 300 & 255);
  await expectRun(sh, 'exit x', '', '/system/bin/sh: exit: x: bad number\n', 1);
  await expectRun(sh, 'echo a; echo b', 'a\nb\n');
  await expectRun(sh, 'echo a; exit 5; echo never', 'a\n', '', 5);
  await expectRun(sh, 'false && echo no || echo yes', 'yes\n');
  await expectRun(sh, 'false; true', '');
  await expectRun(sh, 'true; false', '', '', 1);
  await expectRun(sh, 'echo "a  b" \'c;d\' e\\ f', 'a  b c;d e f\n');
  await expectRun(sh, 'echo -n hi', 'hi');
  await expectRun(sh, 'echo "unterminated', '', '/system/bin/sh: no closing quote\n', 1);
  await expectRun(sh, 'ls | grep x', '', /not supported/, 1);
  await expectRun(sh, '/system/bin/echo full path', 'full path\n');
  await expectRun(sh, "sh -c 'echo nested; exit 3'", 'nested\n', '', 3);
  await expectRun(sh, '', '');
});

test('ls and cat over the virtual filesystem', async () => {
  const sh = newShell();
  await expectRun(sh, 'ls /x', '', 'ls: /x: No such file or directory\n', 1);
  await expectRun(sh, 'ls /sdcard /x', /^\/sdcard:\nAlarms\nDCIM\n/, 'ls: /x: No such file or directory\n', 1);
  await expectRun(sh, 'ls /data', '', 'ls: /data: Permission denied\n', 1);
  await expectRun(sh, 'ls /data/local/tmp', '');
  await expectRun(sh, 'ls -z', '', /^ls: Unknown option 'z'/, 1);
  const root = await sh.run('ls');
  for (const d of ['data', 'proc', 'sdcard', 'system']) assert.ok(root.stdout.split('\n').includes(d), d);
  const l = await sh.run('ls -l /system');
  assert.equal(l.exitCode, 0);
  const lines = l.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^total \d+$/);
  assert.ok(lines.some((x) => /^-rw-r--r-- +1 root +root +\d+ \d{4}-\d\d-\d\d \d\d:\d\d build\.prop$/.test(x)), l.stdout);
  assert.ok(lines.some((x) => /^drwxr-xr-x +\d+ root +root +4096 \d{4}-\d\d-\d\d \d\d:\d\d app$/.test(x)), l.stdout);
  // Columns line up: the name starts at the same offset on every line.
  const dateAt = new Set(lines.slice(1).map((x) => x.search(/\d{4}-\d\d-\d\d/)));
  assert.equal(dateAt.size, 1, l.stdout);
  const la = await sh.run('ls -la /sdcard');
  assert.match(la.stdout, /^total \d+\nd\S+ +\d+ \S+ +\S+ +\d+ \S+ \S+ \.\nd\S+ +\d+ \S+ +\S+ +\d+ \S+ \S+ \.\.\n/);
  await expectRun(sh, 'ls -l /proc/version', /^-r--r--r-- 1 root root \d+ \d{4}-\d\d-\d\d \d\d:\d\d \/proc\/version\n$/);
  await expectRun(sh, 'cat /proc/version', /^Linux version \S+-android13-\S+ .*\n$/);
  await expectRun(sh, 'cat /system/build.prop', /ro\.product\.model=KooSim Phone\n/);
  await expectRun(sh, 'cat /system', '', 'cat: /system: Is a directory\n', 1);
  await expectRun(sh, 'cat /nope /proc/version', /^Linux/, 'cat: /nope: No such file or directory\n', 1);
  // Digests of what cat prints, computed here: a pushed file is checked on the device this way.
  const prop = Buffer.from((await sh.run('cat /system/build.prop')).stdout, 'utf8');
  const sha = createHash('sha256').update(prop).digest('hex');
  const md5 = createHash('md5').update(prop).digest('hex');
  await expectRun(sh, 'sha256sum /system/build.prop', `${sha}  /system/build.prop\n`);
  await expectRun(sh, 'md5sum /system/build.prop /nope', `${md5}  /system/build.prop\n`, 'md5sum: /nope: No such file or directory\n', 1);
  await expectRun(sh, 'sha256sum /system', '', 'sha256sum: /system: Is a directory\n', 1);
  await expectRun(sh, 'df', /^Filesystem +1K-blocks +Used +Available +Use% +Mounted on\n.*\/data\n/s);
});

test('properties: getprop, setprop, per-instance values', async () => {
  const a = newShell('sim-0001', 0);
  const b = newShell('sim-0002', 1);
  await expectRun(a, 'getprop ro.serialno', 'sim-0001\n');
  await expectRun(b, 'getprop ro.serialno', 'sim-0002\n');
  assert.notEqual((await a.run('getprop ro.product.model')).stdout, (await b.run('getprop ro.product.model')).stdout);
  await expectRun(a, 'getprop no.such.prop', '\n');
  await expectRun(a, 'getprop no.such.prop fallback', 'fallback\n');
  await expectRun(a, 'setprop debug.sim.x hello', '');
  await expectRun(a, 'getprop debug.sim.x', 'hello\n');
  await expectRun(b, 'getprop debug.sim.x', '\n');
  await expectRun(a, 'setprop ro.serialno other', '', "setprop: failed to set property 'ro.serialno' to 'other'\n", 1);
  await expectRun(a, 'setprop onlyone', '', /Need 2 arguments/, 1);
  const all = await a.run('getprop');
  assert.match(all.stdout, /^\[\S+\]: \[.*\]\n/);
  assert.match(all.stdout, /\[ro\.build\.version\.sdk\]: \[33\]\n/);
  assert.match(all.stdout, /\[debug\.sim\.x\]: \[hello\]\n/);
});

test('pm, am, input, wm, settings, dumpsys, cmd', async () => {
  const sh = newShell();
  const pkgs = (await sh.run('pm list packages')).stdout.trimEnd().split('\n');
  assert.ok(pkgs.length > 10 && pkgs.every((p) => p.startsWith('package:')));
  assert.ok(pkgs.includes('package:com.android.settings'));
  await expectRun(sh, 'pm list packages -3', 'package:com.example.shop\npackage:com.example.game\npackage:org.example.notes\n');
  await expectRun(sh, 'pm list packages -3 game', 'package:com.example.game\n');
  await expectRun(sh, 'pm path com.android.settings', 'package:/system/priv-app/Settings/Settings.apk\n');
  await expectRun(sh, 'pm path com.nope', '', '', 1);
  await expectRun(sh, 'pm path com.example.shop', /^package:\/data\/app\/~~[\w-]+==\/com\.example\.shop-1\/base\.apk\n$/);
  await expectRun(sh, 'pm clear com.example.shop', 'Success\n');
  await expectRun(sh, 'pm bogus', '', 'Unknown command: bogus\n', 255);
  await expectRun(sh, 'am start -n com.android.settings/.Settings', 'Starting: Intent { cmp=com.android.settings/.Settings }\n');
  assert.match((await sh.run('ps -A')).stdout, /com\.android\.settings\n/);
  await expectRun(sh, 'am force-stop com.android.settings', '');
  assert.doesNotMatch((await sh.run('ps -A')).stdout, /com\.android\.settings\n/);
  await expectRun(sh, 'am start -n com.nope/.Main', /Starting/, /Error: Activity class \{com\.nope\/com\.nope\.Main\} does not exist\./, 1);
  await expectRun(sh, 'input tap 100 200', '');
  await expectRun(sh, 'input swipe 1 2 3 4 100', '');
  await expectRun(sh, 'input text hello', '');
  await expectRun(sh, 'input keyevent KEYCODE_HOME 4', '');
  await expectRun(sh, 'input tap x', '', /^Error: Invalid arguments for command: tap\n/, 1);
  await expectRun(sh, 'input wiggle', '', /^Error: Unknown command: wiggle\n/, 1);
  await expectRun(sh, 'wm size', 'Physical size: 1080x2400\n');
  await expectRun(sh, 'wm size 720x1280', '');
  await expectRun(sh, 'wm size', 'Physical size: 1080x2400\nOverride size: 720x1280\n');
  await expectRun(sh, 'wm size reset; wm density', 'Physical density: 440\n');
  await expectRun(sh, 'wm size big', '', /bad size/, 255);
  await expectRun(sh, 'settings get global adb_enabled', '1\n');
  await expectRun(sh, 'settings get system nothing_here', 'null\n');
  await expectRun(sh, 'settings put system screen_brightness 200; settings get system screen_brightness', '200\n');
  assert.match((await sh.run('settings list system')).stdout, /^font_scale=1\.0\n(.*\n)*screen_brightness=200\n/);
  await expectRun(sh, 'settings get planet x', '', "Invalid namespace 'planet'\n", 255);
  await expectRun(sh, 'dumpsys battery', /^Current Battery Service state:\n {2}AC powered: false\n(.*\n)* {2}level: 100\n/);
  await expectRun(sh, 'cmd package list packages -3 notes', 'package:org.example.notes\n');
  await expectRun(sh, 'cmd nothing', '', "cmd: Can't find service: nothing\n", 20);
});

test('identity, time and process commands', async () => {
  const sh = newShell();
  await expectRun(sh, 'id', /^uid=2000\(shell\) gid=2000\(shell\) groups=2000\(shell\),.* context=u:r:shell:s0\n$/);
  await expectRun(sh, 'whoami', 'shell\n');
  await expectRun(sh, 'uname', 'Linux\n');
  await expectRun(sh, 'uname -a', /^Linux localhost \S+ #1 SMP PREEMPT .* aarch64 Toybox\n$/);
  await expectRun(sh, 'date', /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d GMT \d{4}\n$/);
  await expectRun(sh, 'date +%s', /^\d{10}\n$/);
  await expectRun(sh, 'uptime', /^ \d\d:\d\d:\d\d up \d+ min, {2}0 users, {2}load average: 0\.00, 0\.00, 0\.00\n$/);
  await expectRun(sh, 'ps', /^USER +PID +PPID +VSZ +RSS +WCHAN +ADDR +S +NAME\nshell .* sh\nshell .* ps\n$/);
  assert.match((await sh.run('ps -A')).stdout, /\binit\n(.*\n)*.*\bsystem_server\n/);
  await expectRun(sh, 'sleep 0.01; echo woke', 'woke\n');
  await expectRun(sh, 'sleep', '', /Need 1 argument/, 1);
  await expectRun(sh, 'sleep soon', '', /Not a number/, 1);
  await expectRun(sh, 'seq 3', '1\n2\n3\n');
  await expectRun(sh, 'seq 2 4', '2\n3\n4\n');
  await expectRun(sh, 'seq 10 -3 1', '10\n7\n4\n1\n');
  await expectRun(sh, 'seq x', '', /Not integer/, 1);
});

test('seq is produced on demand, never all at once', () => {
  const proc = newShell().spawn('seq 1 1000000');
  const first = proc.read(100);
  assert.ok(first !== WAIT && first !== EOF);
  assert.ok(first.data.length <= 100);
  assert.equal(first.data.toString().split('\n')[0], '1');
  let total = first.data.length;
  let reads = 1;
  for (;;) {
    const r = proc.read(64 * 1024);
    if (r === EOF) break;
    assert.ok(r !== WAIT);
    assert.ok(r.data.length <= 64 * 1024);
    total += r.data.length;
    reads++;
  }
  assert.equal(total, 6_888_896);
  assert.ok(reads > 100);
  assert.equal(proc.exitCode, 0);
});

test('reboot asks the device to go down and never returns', () => {
  const dev = new DeviceState('sim-0001', 0);
  let asked = 0;
  dev.onReboot = () => asked++;
  const proc = new VirtualShell(dev).spawn('reboot');
  assert.equal(asked, 1);
  assert.equal(proc.read(100), WAIT);
  dev.props.set('debug.gone', '1');
  dev.props.set('persist.kept', '1');
  dev.running.add('com.example.shop');
  dev.rebooted();
  assert.equal(dev.props.get('debug.gone'), undefined);
  assert.equal(dev.props.get('persist.kept'), '1');
  assert.equal(dev.running.size, 0);
});
