// End to end through an adb server: the service as `serve` wires it, Debian's adb server holding a
// simulator instance (`adb connect`), and that instance registered twice, directly and as
// adb-server://127.0.0.1:PORT/SERIAL. Jobs through both give the same results; a serial the
// server does not list fails unreachable; the health monitor reports the served instance running.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { debianAdbSkip as skip, startAdbServer, startServiceHarness, until, type AdbServer, type ServiceHarness } from '../support/index.js';

let h: ServiceHarness | null = null;
let server: AdbServer | null = null;

before(async () => {
  if (skip !== false) return;
  h = await startServiceHarness({ instances: 1, config: { healthIntervalMs: 300 } });
  server = await startAdbServer();
  const device = h.fleet.instances[0]!.address;
  await server.connect(device);
  for (const [id, serial] of [['usb-0', device], ['ghost', '127.0.0.1:1']] as const) {
    const r = await h.admin('POST', '/instances', { instance_id: id, adb_address: `adb-server://127.0.0.1:${server.port}/${serial}`, tenant_id: h.tenantId });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }
});

after(async () => {
  await h?.close();
  await server?.close();
});

async function run(command: string, ids: string[]) {
  const r = await h!.call('POST', '/v1/instances/async-command', { command, instance_ids: ids });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return h!.waitTask(r.body.data.task_id);
}

test('a job through the adb server runs on the device and reports what the direct one does', { skip }, async () => {
  for (const command of ['getprop ro.serialno', 'ls /nope', 'ls /system /nope']) {
    const [direct, served] = await run(command, [h!.ids[0]!, 'usb-0']);
    const view = (j: typeof direct) => [j!.state, j!.error_code, j!.error_msg, j!.exit_code, j!.execute_msg, j!.output_bytes];
    assert.deepEqual(view(served), view(direct), command);
    if (command === 'ls /nope') assert.deepEqual([served!.error_code, served!.exit_code], ['KOOPHONE.JOB.1001', 1]);
  }
  const [ok] = await run('getprop ro.serialno', ['usb-0']);
  assert.deepEqual([ok!.state, ok!.execute_msg], ['succeeded', 'sim-0001\n']);
  const served = h!.fleet.instances[0]!.journal().filter((j) => j.command === 'getprop ro.serialno');
  assert.equal(served.length, 3, 'each job ran once on the device');
});

test('a serial the adb server does not list: its job fails unreachable (1002)', { skip }, async () => {
  const [job] = await run('echo x', ['ghost']);
  assert.deepEqual([job!.state, job!.error_code], ['failed', 'KOOPHONE.JOB.1002']);
});

test('the health monitor asks the server: the served device is running (2), the unknown serial offline (3)', { skip }, async () => {
  const statuses = async (): Promise<Record<string, number>> => {
    const r = await h!.call('POST', '/v1/instances/batch-query-status', { instance_ids: ['usb-0', 'ghost'] });
    return Object.fromEntries((r.body.data.status_results as { instance_id: string; status: number }[]).map((s) => [s.instance_id, s.status]));
  };
  let last: Record<string, number> = {};
  await until(() => `usb-0 running and ghost offline: ${JSON.stringify(last)}`, async () => {
    last = await statuses();
    return last['usb-0'] === 2 && last['ghost'] === 3;
  });
});
