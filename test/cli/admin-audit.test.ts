// `adbfleet admin audit` against a running `adbfleet serve`: the table, JSON, filters, paging with
// --all, and a bad filter's refusal passed on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request, runCli, startServeProcess, until } from '../support/index.js';

interface Entry {
  id: number;
  actor: string | null;
  action: string;
  request_id: string;
  targets: Record<string, unknown>;
  outcome: { status: number; error_code: string };
}

test('admin audit: a table by default, JSON with --json, filters, and every page with --all', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'adbfleet-audit-cli-'));
  const service = await startServeProcess({ ADBFLEET_DATA: dataDir });
  const admin = async (...args: string[]): Promise<{ code: number | null; out: string; err: string }> => {
    const r = await runCli(['admin', '--url', service.url, '--data', dataDir, ...args], { ADBFLEET_ADMIN_TOKEN: '' });
    return { code: r.code, out: r.stdout, err: r.stderr };
  };
  const json = async (...args: string[]): Promise<{ entries: Entry[]; next_cursor: string | null }> => {
    const r = await admin('audit', '--json', ...args);
    assert.equal(r.code, 0, r.err);
    return JSON.parse(r.out) as { entries: Entry[]; next_cursor: string | null };
  };
  try {
    const tenant = JSON.parse((await admin('tenant', 'create', 'acme')).out) as { tenant_id: string };
    assert.equal((await admin('instance', 'remove', 'nope')).code, 1);
    assert.equal((await admin('instance', 'add', 'phone-01', '192.168.7.20:5555', '--tenant', tenant.tenant_id)).code, 0);
    // An entry commits a moment after its answer: wait for the last one.
    await until('three audit entries', async () => (await json()).entries.length === 3);

    const table = await admin('audit');
    assert.equal(table.code, 0, table.err);
    const lines = table.out.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^ID +AT +ACTOR +TOKEN +SOURCE +ACTION +OUTCOME +REQUEST ID +TARGETS$/);
    assert.equal(lines.length, 4, table.out);
    assert.match(lines[1] ?? '', new RegExp(`admin +- +\\S+ +instance\\.create +200 0 +\\S+ +instance_id=phone-01 tenant_id=${tenant.tenant_id}$`));
    assert.match(lines[2] ?? '', /instance\.delete +404 KOOPHONE\.API\.1000 +\S+ +instance_id=nope$/);
    assert.match(lines[3] ?? '', new RegExp(`tenant\\.create +200 0 +\\S+ +tenant_id=${tenant.tenant_id} token_prefix=afk_\\S{8}$`));

    const created = await json('--action', 'tenant.create');
    assert.deepEqual(created.entries.map((e) => [e.actor, e.targets['tenant_id']]), [['admin', tenant.tenant_id]]);
    const refused = await json('--action', 'instance.delete', '--since', '2020-01-01', '--until', '2999-01-01T00:00:00Z');
    assert.deepEqual(refused.entries.map((e) => e.outcome), [{ status: 404, error_code: 'KOOPHONE.API.1000', task_id: null, replayed: false }]);
    assert.deepEqual((await json('--request-id', created.entries[0]!.request_id)).entries.map((e) => e.id), [created.entries[0]!.id]);
    assert.deepEqual((await json('--tenant', tenant.tenant_id)).entries, [], 'the admin acted, not the tenant');

    const everything = await json();
    const paged = await json('--limit', '1', '--all');
    assert.deepEqual(paged, { entries: everything.entries, next_cursor: null });
    const onePage = await admin('audit', '--limit', '1');
    assert.equal(onePage.out.trimEnd().split('\n').length, 2);
    assert.match(onePage.err, /more entries: add --all/);

    // Anyone may have a refusal recorded with what its path said: the table shows control
    // characters as escapes, so an entry cannot clear, retitle or rewrite the operator's terminal.
    const hostile = '%1B%5B2J%1B%5D0%3Bowned%07%E2%80%AE';
    const refusedCancel = await request(service.url, 'POST', `/v1/instances/tasks/${hostile}/cancel`, undefined, { 'x-request-id': 'hostile', 'x-auth-token': 'nope' });
    assert.equal(refusedCancel.status, 401);
    await until('the refused cancel to be recorded', async () => (await json('--action', 'task.cancel')).entries.length === 1);
    const shown = await admin('audit', '--action', 'task.cancel');
    assert.equal(shown.code, 0, shown.err);
    // eslint-disable-next-line no-control-regex -- none may reach the terminal
    assert.doesNotMatch(shown.out, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
    assert.match(shown.out, /task_id=\\u001b\[2J\\u001b\]0;owned\\u0007\\u202e$/m);
    assert.equal((await json('--action', 'task.cancel')).entries[0]?.targets['task_id'], '\u001b[2J\u001b]0;owned\u0007\u202e', 'JSON keeps the value');

    const bad = await admin('audit', '--since', 'yesterday');
    assert.equal(bad.code, 1);
    assert.match(bad.err, /^HTTP 400: .*since: must be an ISO 8601/);
  } finally {
    await service.child.kill('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
  }
});
