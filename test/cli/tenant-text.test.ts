// What the tenant CLI puts on a terminal: a device's bytes never become terminal commands, rows
// and the progress bar fit the width they are given.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countJobs, renderBar } from '../../src/cli/tenant/progress.js';
import { columns, cut, displayWidth, firstLine, printable, printableLines } from '../../src/cli/tenant/text.js';

test('control characters from a device are shown, not obeyed', () => {
  assert.equal(printable('\x1b[2J\x1b]0;owned\x07ok\x9b31m\x7f'), '?[2J?]0;owned?ok?31m?');
  assert.equal(firstLine('total 0\r\nline two'), 'total 0');
  assert.equal(firstLine('\ta\tb  \nrest'), ' a b');
  assert.equal(firstLine(''), '');
});

test('bidi controls and line separators are defused too: a row shows what it holds, in order', () => {
  assert.equal(printable('a\u202Eevil\u202C\u2066b\u2069\u200Fc\u2028d\u2029'), 'a?evil??b??c?d?');
  assert.equal(firstLine('ok \u202Etxt.exe\nrest'), 'ok ?txt.exe');
});

test('many lines keep their line ends and tabs, and lose every other control', () => {
  assert.equal(printableLines('a\tb\r\nc\n\x1b[2Jd\re\x08\u202E'), 'a\tb\r\nc\n?[2Jd?e??');
});

test('cut marks what it removed, and leaves what fits', () => {
  assert.equal(cut('abcdef', 6), 'abcdef');
  assert.equal(cut('abcdef', 4), 'abc…');
  assert.equal(cut('日本語のテキスト', 3), '日…', 'a wide character takes two columns');
  assert.equal(cut('abc', 0), '');
});

test('widths are the columns a terminal gives: two for CJK and emoji, none for combining marks', () => {
  assert.equal(displayWidth('abc'), 3);
  assert.equal(displayWidth('日本語'), 6);
  assert.equal(displayWidth('한국어'), 6);
  assert.equal(displayWidth('ＡＢ'), 4, 'fullwidth forms');
  assert.equal(displayWidth('e\u0301'), 1, 'a combining accent');
  assert.equal(displayWidth('🚀ok'), 4);
  assert.equal(cut('日本語のテキスト', 7), '日本語…', 'three wide characters and the mark: 7 columns');
  assert.equal(cut('日本語のテキスト', 8), '日本語…', 'a fourth would take 9');
  assert.equal(cut('ab日本', 6), 'ab日本', 'exactly the width: kept whole');
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

test('columns align and cut wide text by its columns, not its characters', () => {
  const table = columns(
    [
      ['INSTANCE', 'OUTPUT'],
      ['中文机', '设备'.repeat(20)],
      ['a', 'x'],
    ],
    30,
  );
  const lines = table.split('\n');
  assert.deepEqual(lines, ['INSTANCE  OUTPUT', `中文机    ${'设备'.repeat(4)}设…`, 'a         x']);
  assert.ok(lines.every((l) => displayWidth(l) <= 30), lines.join('\n'));
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
