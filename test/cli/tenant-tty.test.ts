// The tenant CLI on a terminal: the real process in a detached tmux session of a fixed size, its
// screen read with capture-pane. While a slow task runs a progress bar is drawn; at the end the
// screen holds the results table, cut to the terminal's width, and no trace of the bar.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SimInstanceImpl } from '../../src/sim/instance.js';
import { SOURCE_ENTRY, startServiceHarness, until, type ServiceHarness } from '../support/index.js';

const hasTmux = spawnSync('tmux', ['-V']).status === 0;
const WIDTH = 100;
const HEIGHT = 30;

let h: ServiceHarness;
let dir: string;
let sessions = 0;

before(async () => {
  if (!hasTmux) return;
  h = await startServiceHarness({ instances: 3 });
  dir = mkdtempSync(join(tmpdir(), 'adbfleet-tty-'));
});
after(async () => {
  if (!hasTmux) return;
  // Our own server only (its socket is in our temp dir), never anyone else's.
  spawnSync('tmux', ['-S', join(dir, 'tmux'), 'kill-server']);
  await h.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Pane {
  /** the screen's lines; `joined`: a line the terminal wrapped comes back whole */
  screen(joined?: boolean): string[];
  keys(...keys: string[]): void;
}

/** Starts the CLI with `args` in a new WIDTH x HEIGHT session. */
function inTmux(args: string[]): Pane {
  const socket = join(dir, 'tmux');
  const name = `cli${(sessions += 1)}`;
  // The shell prints the exit status, then holds the pane open so its last screen can be read;
  // it outlives a Ctrl-C meant for the CLI by catching it (the CLI, exec'd, gets the default).
  const script = 'trap : INT; "$0" "$@"; echo "exit=$?"; exec sleep 600';
  execFileSync(
    'tmux',
    ['-S', socket, '-f', '/dev/null', 'new-session', '-d', '-s', name, '-x', String(WIDTH), '-y', String(HEIGHT), '-c', process.cwd(),
      'sh', '-c', script, process.execPath, ...SOURCE_ENTRY, ...args],
    { env: { ...process.env, ADBFLEET_URL: h.url, ADBFLEET_TOKEN: h.token, TERM: 'xterm-256color' } },
  );
  return {
    screen: (joined = false) =>
      execFileSync('tmux', ['-S', socket, 'capture-pane', '-p', ...(joined ? ['-J'] : []), '-t', name], { encoding: 'utf8' }).split('\n'),
    keys: (...keys) => execFileSync('tmux', ['-S', socket, 'send-keys', '-t', name, ...keys]),
  };
}

const BAR = /^\[[#.]+\] (\d+)\/3 done {2}succeeded \d+ {2}failed \d+ {2}running \d+ {2}queued \d+$/;

test('a progress bar while waiting, then the table alone', { skip: hasTmux ? false : 'tmux is not installed' }, async () => {
  const { screen } = inTmux(['run', 'sleep 3', '--instances', 'e2e-0,e2e-1,e2e-2', '--wait']);
  let seen: string[] = [];
  await until(() => `a progress bar on the screen:\n${seen.join('\n')}`, () => (seen = screen()).some((l) => BAR.test(l.trimEnd())), 60_000);
  await until(() => `the CLI to exit:\n${seen.join('\n')}`, () => (seen = screen()).some((l) => l.startsWith('exit=')), 60_000);
  const lines = seen.map((l) => l.trimEnd()).filter((l) => l !== '');
  assert.deepEqual(lines.length, 6, lines.join('\n'));
  assert.match(lines[0]!, /^INSTANCE\s+STATE\s+EXIT\s+OUTPUT$/);
  for (const [i, id] of ['e2e-0', 'e2e-1', 'e2e-2'].entries()) assert.match(lines[i + 1]!, new RegExp(`^${id}\\s+succeeded\\s+0$`));
  assert.match(lines[4]!, /^3 jobs: 3 succeeded \(task [0-9a-f]{32}\)$/);
  assert.equal(lines[5], 'exit=0');
  assert.ok(!lines.some((l) => l.includes('done  succeeded')), 'the bar was erased');
});

test('table rows are cut to the terminal width', { skip: hasTmux ? false : 'tmux is not installed' }, async () => {
  const long = 'x'.repeat(WIDTH * 2);
  const { screen } = inTmux(['run', `echo ${long}`, '--instances', 'e2e-1', '--wait']);
  let seen: string[] = [];
  await until(() => `the CLI to exit:\n${seen.join('\n')}`, () => (seen = screen()).some((l) => l.startsWith('exit=')), 60_000);
  const lines = seen.map((l) => l.trimEnd()).filter((l) => l !== '');
  assert.equal(lines.length, 4, `one screen line per row:\n${lines.join('\n')}`);
  assert.match(lines[1]!, /^e2e-1\s+succeeded\s+0\s+x+…$/);
  assert.equal([...lines[1]!].length, WIDTH);
  assert.equal(lines[3], 'exit=0');
});

test('Ctrl-C on the terminal: the bar goes, the task is left running, exit 130', { skip: hasTmux ? false : 'tmux is not installed' }, async () => {
  const pane = inTmux(['run', 'sleep 60', '--instances', 'e2e-2', '--wait']);
  let seen: string[] = [];
  await until(() => `a progress bar on the screen:\n${seen.join('\n')}`, () => (seen = pane.screen()).some((l) => /running 1 {2}queued 0$/.test(l.trimEnd())), 60_000);
  pane.keys('C-c');
  await until(() => `the CLI to exit:\n${seen.join('\n')}`, () => (seen = pane.screen(true)).some((l) => l.startsWith('exit=')), 60_000);
  const text = seen.map((l) => l.trimEnd()).filter((l) => l !== '').join('\n');
  assert.match(text, /stopped waiting; the task keeps running \(to stop: adbfleet cancel [0-9a-f]{32}\)\nexit=130$/);
  assert.ok(!text.includes('done  succeeded'), `the bar was erased:\n${text}`);
  const taskId = /adbfleet cancel ([0-9a-f]{32})/.exec(text)![1]!;
  const cancelled = await h.call('POST', `/v1/instances/tasks/${taskId}/cancel`);
  assert.equal(cancelled.body.data.jobs[0].state, 'cancelled', 'it was still running');
});

test("a device's escapes, bidi controls and wide text: shown, not obeyed, in the table and in output", { skip: hasTmux ? false : 'tmux is not installed' }, async () => {
  const wide = '设备输出'.repeat(20);
  // The fleet's instances are SimInstanceImpl; its device state is where a property's bytes come from.
  (h.fleet.instances[0] as SimInstanceImpl).device.props.set('x.hostile', `\x1b[2J\x1b]2;owned\x07\x1b[31mred \u202Eabc ${wide}`);
  const submitted = await h.call('POST', '/v1/instances/async-command', { command: 'getprop x.hostile', instance_ids: ['e2e-0'] });
  const taskId = submitted.body.data.task_id as string;
  await h.waitTask(taskId);

  const table = inTmux(['task', taskId]);
  let seen: string[] = [];
  await until(() => `the CLI to exit:\n${seen.join('\n')}`, () => (seen = table.screen()).some((l) => l.startsWith('exit=')), 60_000);
  const lines = seen.map((l) => l.trimEnd()).filter((l) => l !== '');
  assert.equal(lines.length, 4, `one screen line per row, nothing cleared:\n${lines.join('\n')}`);
  assert.match(lines[1]!, /^e2e-0\s+succeeded\s+0\s+\?\[2J\?\]2;owned\?\?\[31mred \?abc 设备输出设备/);
  assert.ok(lines[1]!.endsWith('…'), lines[1]);

  const raw = inTmux(['output', taskId, 'e2e-0']);
  await until(() => `the CLI to exit:\n${seen.join('\n')}`, () => (seen = raw.screen(true)).some((l) => l.startsWith('exit=')), 60_000);
  const text = seen.map((l) => l.trimEnd()).filter((l) => l !== '').join('\n');
  assert.equal(text, `?[2J?]2;owned??[31mred ?abc ${wide}\nexit=0`);
});
