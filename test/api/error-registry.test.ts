// docs/API.md lists exactly the codes of the API error registry and the job codes, each with its
// HTTP status (API) or state (jobs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { API_ERRORS } from '../../src/core/errors.js';
import { JOB_CODES } from '../../src/core/job-state.js';

const doc = readFileSync(new URL('../../docs/API.md', import.meta.url), 'utf8');
const CODE = /\b(?:KOOPHONE\.(?:API|JOB)\.\d{4}|APIGW\.\d{4})\b/g;

function section(title: string): string {
  const start = doc.indexOf(`\n## ${title}\n`);
  assert.ok(start >= 0, `docs/API.md has a section "${title}"`);
  const end = doc.indexOf('\n## ', start + 1);
  return doc.slice(start, end < 0 ? undefined : end);
}

function tableRows(text: string): string[][] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('|') && !/^\|[-| ]+\|$/.test(l))
    .map((l) => l.split('|').slice(1, -1).map((c) => c.trim()));
}

test('docs/API.md mentions no code outside the registries, and every registry code', () => {
  const documented = new Set(doc.match(CODE) ?? []);
  const expected = new Set<string>([
    ...Object.values(API_ERRORS).map((e) => e.code),
    ...Object.keys(JOB_CODES).filter((c) => c !== '0'),
  ]);
  assert.deepEqual([...documented].sort(), [...expected].sort());
});

test('the API error registry table has exactly one row per (code, status) of src/core/errors.ts', () => {
  const rows = tableRows(section('API error registry')).slice(1);
  const documented = rows.map((r) => `${(r[0] ?? '').replace(/`/g, '')} ${r[1] ?? ''}`).sort();
  const expected = [...new Set(Object.values(API_ERRORS).map((e) => `${e.code} ${e.status}`))].sort();
  assert.deepEqual(documented, expected);
});

test('the job code table has exactly the job codes with their states', () => {
  const rows = tableRows(section('Job codes')).slice(1);
  const documented = rows
    .map((r) => [(r[0] ?? '').replace(/`/g, ''), r[1] ?? ''] as const)
    .filter(([code]) => code !== '"" (empty)')
    .map(([code, state]) => `${code} ${state}`)
    .sort();
  const expected = Object.entries(JOB_CODES).map(([code, v]) => `${code} ${v.state}`).sort();
  assert.deepEqual(documented, expected);
});

test('docs/API.md has the section "Decisions SPEC leaves open"', () => {
  assert.ok(section('Decisions SPEC leaves open').split('\n').filter((l) => /^\d+\. /.test(l)).length >= 10);
});
