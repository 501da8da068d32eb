// `adbfleet sim` as a process: prints ready with its ports, serves the control port, exits 0 on SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { RawClient, decodeShellV2 } from './raw-client.js';

test('sim command: ready line, control port, clean exit on SIGTERM', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'sim', '--count', '3', '--base-port', '0', '--control-port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const ready = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line within 60 s: ${out} ${err}`)), 60000);
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const line = out.split('\n').find((l) => l.includes('ready'));
      if (line !== undefined) {
        clearTimeout(timer);
        resolve(line);
      }
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code} before ready: ${err}`)));
  });
  const ports = /ports=([\d,]+)/.exec(ready)?.[1]?.split(',').map(Number) ?? [];
  const control = Number(/control=(\d+)/.exec(ready)?.[1]);
  assert.equal(ports.length, 3);
  assert.ok(ports.every((p) => p > 0) && control > 0, ready);

  const res = await fetch(`http://127.0.0.1:${control}/instances`);
  const list = (await res.json()) as { serial: string; port: number; state: string }[];
  assert.deepEqual(list.map((i) => [i.serial, i.port, i.state]), [
    ['sim-0001', ports[0], 'online'],
    ['sim-0002', ports[1], 'online'],
    ['sim-0003', ports[2], 'online'],
  ]);
  const c = await RawClient.connect(ports[2]!);
  t.after(() => c.close());
  await c.connectHandshake();
  assert.equal(decodeShellV2((await c.run('shell,v2,raw:getprop ro.serialno')).data).stdout, 'sim-0003\n');
  const journal = (await (await fetch(`http://127.0.0.1:${control}/journal?serial=sim-0003`)).json()) as { command: string }[];
  assert.deepEqual(journal.map((j) => j.command), ['getprop ro.serialno']);

  child.kill('SIGTERM');
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0, err);
});
