// `adbfleet admin instance import`: many instances from a file or stdin, in requests of the bulk
// endpoint's limit, against a running `adbfleet serve`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LIMITS } from '../../src/core/index.js';
import { startServeProcess } from '../support/index.js';

const run = promisify(execFile);

test('admin CLI import: JSON array, JSON lines and CSV (stdin); several requests; a refused request names its entries', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'adbfleet-import-'));
  const service = await startServeProcess({ ADBFLEET_DATA: dataDir, ADBFLEET_LOG_LEVEL: 'info' });
  const admin = async (args: string[], stdin?: string): Promise<{ code: number; out: string; err: string }> => {
    const call = run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'admin', '--url', service.url, '--data', dataDir, ...args], {
      env: { ...process.env, ADBFLEET_ADMIN_TOKEN: '' },
      maxBuffer: 64 * 1024 * 1024, // the list of 20,000 instances
    });
    call.child.stdin?.end(stdin ?? '');
    try {
      const r = await call;
      return { code: 0, out: r.stdout, err: r.stderr };
    } catch (e) {
      const x = e as { code: number; stdout: string; stderr: string };
      return { code: x.code, out: x.stdout, err: x.stderr };
    }
  };
  const list = async () =>
    (JSON.parse((await admin(['instance', 'list'])).out) as { instances: { instance_id: string; adb_address: string; tenant_id: string | null; zone: string; instance_name: string }[] }).instances;
  const file = (name: string, text: string): string => {
    const path = join(dataDir, name);
    writeFileSync(path, text);
    return path;
  };
  try {
    const tenant = JSON.parse((await admin(['tenant', 'create', 'acme'])).out) as { tenant_id: string };

    const array = await admin(['instance', 'import', file('a.json', JSON.stringify([
      { instance_id: 'j-1', adb_address: '10.4.0.1:5555', tenant_id: tenant.tenant_id, instance_name: 'J one' },
      { instance_id: 'j-2', adb_address: '10.4.0.2:5555' },
    ]))]);
    assert.deepEqual([array.code, array.out], [0, 'registered 2 instances\n'], array.err);

    const lines = await admin(['instance', 'import', file('b.jsonl', '{"instance_id": "l-1", "adb_address": "10.4.1.1:5555", "zone": "eu"}\n\n{"instance_id": "l-2", "adb_address": "10.4.1.2:5555"}\n')]);
    assert.deepEqual([lines.code, lines.out], [0, 'registered 2 instances\n'], lines.err);

    const csv = await admin(['instance', 'import', '-'], `instance_id,adb_address,tenant_id,zone,name\n# lab rack 2\nc-1,10.4.2.1:5555,${tenant.tenant_id},rack2,Pixel 7\nc-2,10.4.2.2:5555,,rack2\nc-3,10.4.2.3:5555\n`);
    assert.deepEqual([csv.code, csv.out], [0, 'registered 3 instances\n'], csv.err);

    const byId = new Map((await list()).map((i) => [i.instance_id, [i.adb_address, i.tenant_id, i.zone, i.instance_name]]));
    assert.deepEqual(byId.get('j-1'), ['10.4.0.1:5555', tenant.tenant_id, 'local', 'J one']);
    assert.deepEqual(byId.get('l-1'), ['10.4.1.1:5555', null, 'eu', 'l-1']);
    assert.deepEqual(byId.get('c-1'), ['10.4.2.1:5555', tenant.tenant_id, 'rack2', 'Pixel 7']);
    assert.deepEqual(byId.get('c-2'), ['10.4.2.2:5555', null, 'rack2', 'c-2']);
    assert.deepEqual(byId.get('c-3'), ['10.4.2.3:5555', null, 'local', 'c-3']);

    // More than one request's worth: sent in order, each all or nothing. The second request
    // repeats an id of the first: the first stays registered, the second is refused whole.
    const n = LIMITS.instancesPerBulk + 5;
    const big = Array.from({ length: n }, (_, i) => `b-${i},10.5.${i >> 8}.${i & 255}:5555`);
    const many = await admin(['instance', 'import', file('big.csv', big.join('\n'))]);
    assert.deepEqual([many.code, many.out], [0, `registered ${n} instances\n`], many.err);
    const again = Array.from({ length: n + 3 }, (_, i) => (i === LIMITS.instancesPerBulk + 1 ? 'b-7,10.6.0.1:5555' : `x-${i},10.6.${i >> 8}.${i & 255}:5555`));
    const refused = await admin(['instance', 'import', file('again.csv', again.join('\n'))]);
    assert.equal(refused.code, 1);
    assert.match(refused.err, new RegExp(`entries ${LIMITS.instancesPerBulk}-${n + 2} of .*again\\.csv .*HTTP 409: .*\\[1\\] b-7`));
    assert.match(refused.err, new RegExp(`registered ${LIMITS.instancesPerBulk} instances before them`));
    const ids = new Set((await list()).map((i) => i.instance_id));
    assert.ok(ids.has('x-0') && ids.has(`x-${LIMITS.instancesPerBulk - 1}`));
    assert.ok(!ids.has(`x-${LIMITS.instancesPerBulk}`), 'the refused request registered none');

    const one = await admin(['instance', 'import', file('one.csv', 'o-1,10.8.0.1:5555\n')]);
    assert.deepEqual([one.code, one.out], [0, 'registered 1 instance\n'], one.err);
    const missing = join(dataDir, 'nofile.csv');
    const absent = await admin(['instance', 'import', missing]);
    assert.deepEqual([absent.code, absent.out, absent.err], [1, '', `adbfleet: ${missing}: no such file\n`]);

    const badLine = await admin(['instance', 'import', file('bad.csv', 'ok-1,10.7.0.1:5555\nonly-an-id\n')]);
    assert.equal(badLine.code, 1);
    assert.match(badLine.err, /bad\.csv:2: expected instance_id,adb_address/);
    assert.ok(!(await list()).some((i) => i.instance_id === 'ok-1'), 'a file that does not parse sends nothing');
  } finally {
    await service.child.kill('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
  }
});
