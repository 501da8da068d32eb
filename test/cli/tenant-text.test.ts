// What the tenant CLI puts on a terminal: a device's bytes never become terminal commands, rows
// and the progress bar fit the width they are given.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countJobs, renderBar } from '../../src/cli/tenant/progress.js';
import { columns, cut, firstLine, printable } from '../../src/cli/tenant/text.js';

test('control characters from a device are shown, not obeyed', () => {
  assert.equal(printable('\x1b[2J\x1b]0;owned\x07ok\x9b31m\x7f'), '?[2J?]0;owned?ok?31m?');
  assert.equal(firstLine('total 0\r\nline two'), 'total 0');
  assert.equal(firstLine('\ta\tb  \nrest'), ' a b');
  assert.equal(firstLine(''), '');
});

test('cut marks what it removed, and leaves what fits', () => {
  assert.equal(cut('abcdef', 6), 'abcdef');
  assert.equal(cut('abcdef', 4), 'abc…');
  assert.equal(cut('日本語のテキスト', 3), '日本…');
  assert.equal(cut('abc', 0), '');
});

test('columns align every column but the last, and cut lines to the width', () => {
  const table = columns(
    [
      ['INSTANCE', 'STATE', 'OUTPUT'],
      ['a', 'succeeded', 'x'.repeat(50)],
      ['phone-0123', 'failed', ''],
    ],
    40,
  );
  assert.deepEqual(table.split('\n'), [
    'INSTANCE    STATE      OUTPUT',
    `a           succeeded  ${'x'.repeat(16)}…`,
    'phone-0123  failed',
  ]);
  assert.ok(table.split('\n').every((l) => [...l].length <= 40));
});

test('the bar counts each state, and its line stays shorter than the screen', () => {
  const counts = countJobs([
    { state: 'succeeded' },
    { state: 'failed' },
    { state: 'timed_out' },
    { state: 'cancelled' },
    { state: 'running' },
    { state: 'queued' },
    { state: 'queued' },
  ]);
  assert.deepEqual(counts, { total: 7, queued: 2, running: 1, succeeded: 1, failed: 3 });
  const wide = renderBar(counts, 120);
  assert.match(wide, /^\[#{17}\.{13}\] 4\/7 done {2}succeeded 1 {2}failed 3 {2}running 1 {2}queued 2$/);
  for (const width of [120, 80, 60, 30, 5]) assert.ok(renderBar(counts, width).length < width, `fits ${width} columns`);
  assert.match(renderBar(counts, 60), /^4\/7 done/, 'too narrow for the bar: the counts alone');
  assert.match(renderBar(countJobs([]), 80), /\[\.+\] 0\/0 done/);
});
