// src/adb/README.md's error tables list exactly the codes of the ADB error registry and of the
// transfer error registry, once each, and the README names no code the registries lack (as
// test/api/error-registry.test.ts does for docs/API.md); protocol words (`FAIL`, `SEND`) and
// the wire format's exported names are not codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as adb from '../../src/adb/index.js';

const { ADB_ERROR_CODES, TRANSFER_ERROR_CODES, Command, SyncId } = adb;

const doc = readFileSync(new URL('../../src/adb/README.md', import.meta.url), 'utf8');
const codes = Object.keys(ADB_ERROR_CODES).sort();

function section(title: string): string {
  const start = doc.indexOf(`\n## ${title}\n`);
  assert.ok(start >= 0, `src/adb/README.md has a section "${title}"`);
  const end = doc.indexOf('\n## ', start + 1);
  return doc.slice(start, end < 0 ? undefined : end);
}

function tableCodes(title: string): string[] {
  return section(title)
    .split('\n')
    .filter((l) => l.startsWith('|') && !/^\|[-| ]+\|$/.test(l))
    .slice(1)
    .map((l) => (l.split('|')[1] ?? '').trim().replace(/`/g, ''));
}

test('the README error table has one row per code of src/adb/errors.ts, and no other', () => {
  const rows = tableCodes('Errors (`AdbError.code`, stable)');
  assert.deepEqual([...rows].sort(), codes);
  assert.ok(rows.every((r) => (rows.filter((x) => x === r).length === 1)), 'each code has one row');
});

test('the README transfer error table has one row per TransferError code, and no other', () => {
  const rows = tableCodes('Transfer errors (`TransferError.code`, stable)');
  assert.deepEqual([...rows].sort(), Object.keys(TRANSFER_ERROR_CODES).sort());
  assert.ok(rows.every((r) => (rows.filter((x) => x === r).length === 1)), 'each code has one row');
});

test('every code-shaped name the README quotes is a registry code (or an environment variable)', () => {
  const quoted = new Set([...doc.matchAll(/`([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[A-Z]{4,})`/g)].map((m) => m[1]!));
  const known = new Set([...codes, ...Object.keys(TRANSFER_ERROR_CODES), ...Object.keys(Command), ...Object.keys(SyncId), ...Object.keys(adb)]);
  const unknown = [...quoted].filter((q) => !q.startsWith('ADBFLEET_') && !known.has(q));
  assert.deepEqual(unknown, []);
});
