// --wait on more tasks than the service takes connections from one address: the CLI follows a
// bounded number of event streams at a time, so the fleet's size does not matter.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli, startServiceHarness, type ServiceHarness } from '../support/index.js';

let h: ServiceHarness;

before(async () => {
  // 301 instances: four tasks of at most 100, one more than the 3 connections taken per source.
  h = await startServiceHarness({ instances: 301, config: { httpConnectionsPerSource: 3 } });
});
after(() => h?.close());

test('run --all --wait: four tasks under a cap of 3 connections per source, every job followed to its end', async () => {
  // The harness's own idle keep-alive connections count against the cap too: closed, the CLI has all 3.
  h.service.api.server.closeIdleConnections();
  // Jobs that outlast the first streams: one stream per task at once met the cap while they ran.
  const r = await runCli(['run', 'sleep 2', '--all', '--wait'], { ADBFLEET_URL: h.url, ADBFLEET_TOKEN: h.token });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines.filter((l) => /^e2e-\d+\s+succeeded\s+0/.test(l)).length, 301, r.stdout);
  assert.match(lines.at(-1)!, /^301 jobs: 301 succeeded \(task [0-9a-f]{32}, [0-9a-f]{32}, [0-9a-f]{32}, [0-9a-f]{32}\)$/);
});
