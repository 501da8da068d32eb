// src/adb/README.md's error table lists exactly the codes of the ADB error registry, once each,
// and the README names no code the registry lacks (as test/api/error-registry.test.ts does for
// docs/API.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ADB_ERROR_CODES } from '../../src/adb/index.js';

const doc = readFileSync(new URL('../../src/adb/README.md', import.meta.url), 'utf8');
const codes = Object.keys(ADB_ERROR_CODES).sort();

function section(title: string): string {
  const start = doc.indexOf(`\n## ${title}\n`);
  assert.ok(start >= 0, `src/adb/README.md has a section "${title}"`);
  const end = doc.indexOf('\n## ', start + 1);
  return doc.slice(start, end < 0 ? undefined : end);
}

test('the README error table has one row per code of src/adb/errors.ts, and no other', () => {
  const rows = section('Errors (`AdbError.code`, stable)')
    .split('\n')
    .filter((l) => l.startsWith('|') && !/^\|[-| ]+\|$/.test(l))
    .slice(1)
    .map((l) => (l.split('|')[1] ?? '').trim().replace(/`/g, ''));
  assert.deepEqual([...rows].sort(), codes);
  assert.ok(rows.every((r) => (rows.filter((x) => x === r).length === 1)), 'each code has one row');
});

test('every code-shaped name the README quotes is a registry code (or an environment variable)', () => {
  const quoted = new Set([...doc.matchAll(/`([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[A-Z]{4,})`/g)].map((m) => m[1]!));
  const unknown = [...quoted].filter((q) => !q.startsWith('ADBFLEET_') && !(q in ADB_ERROR_CODES));
  assert.deepEqual(unknown, []);
});
