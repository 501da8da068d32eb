// docs/API.md lists exactly the errors of the API error registry (code, status, message template)
// and the job codes with their states; the messages it quotes in its text are registry templates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { API_ERRORS, ApiError, formatApiError } from '../../src/core/errors.js';
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

test('the API error registry table has exactly one row per error of src/core/errors.ts: code, status, message', () => {
  const rows = tableRows(section('API error registry')).slice(1);
  const documented = rows.map((r) => [r[0], r[1], r[2]].map((c) => (c ?? '').replace(/^`|`$/g, '')).join(' | ')).sort();
  const expected = Object.values(API_ERRORS)
    .map((e) => `${e.code} | ${e.status} | ${e.message}`)
    .sort();
  assert.deepEqual(documented, expected);
});

/** A template as a pattern: each `{name}` stands for a value, written `<name>` in prose. */
function templatePattern(template: string): RegExp {
  const parts = template.split(/\{\w+\}/).map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('(?:<[\\w ]+>|\\S.*)')}$`);
}

test('every error message docs/API.md quotes in its text is a registry template', () => {
  // Quoted as `"..."`; the job messages ("exit status N", ...) and JSON values are not API errors.
  const quoted = [...doc.matchAll(/`"([^"`]+)"`/g)].map((m) => m[1] ?? '').filter((q) => /^[\w-]+[ :]/.test(q));
  assert.ok(quoted.length >= 4, `found ${quoted.length} quoted messages`);
  const templates = Object.values(API_ERRORS)
    .map((e): string => e.message)
    .filter((t) => t !== API_ERRORS.INVALID_FIELD.message);
  for (const q of quoted) {
    assert.ok(
      templates.some((t) => templatePattern(t).test(q)),
      `"${q}" matches no template of src/core/errors.ts`,
    );
  }
});

test('a template fills its placeholders, joins lists and cuts echoed ids', () => {
  assert.equal(new ApiError('NO_SUCH_TASK', { taskId: 'x'.repeat(100) }).message, `task_id ${'x'.repeat(64)} does not exist`);
  assert.equal(
    new ApiError('INSTANCE_NOT_FOUND', { ids: ['a', 'b'] }).message,
    'instance_ids: these instances do not exist or are not yours: a, b',
  );
  const limited = new ApiError('RATE_LIMITED', { perSecond: 5 }, { 'retry-after': '1' });
  assert.deepEqual([limited.status, limited.code, limited.message, limited.headers], [
    429,
    'KOOPHONE.API.1429',
    'tenant: over 5 requests per second',
    { 'retry-after': '1' },
  ]);
  assert.throws(() => formatApiError('NO_SUCH_JOB', {}), /no value for \{jobId\}/);
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
