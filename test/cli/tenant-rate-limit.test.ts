// The tenant CLI under the service's rate limit (2/s, burst 2): a 429 is waited out as Retry-After
// says and the request sent again, a POST with the same x-request-id; past its tries, one line.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { spawnCli, startServiceHarness, type CliResult, type ServiceHarness } from '../support/index.js';

let h: ServiceHarness;
let env: Record<string, string>;

before(async () => {
  h = await startServiceHarness({ instances: 2, config: { rateLimitPerSecond: 2, rateLimitBurst: 2 } });
  env = { ADBFLEET_URL: h.url, ADBFLEET_TOKEN: h.token };
});
after(() => h?.close());

interface Seen {
  method: string;
  url: string;
  id: string;
  status: number;
}

/**
 * Runs the CLI while this process spends the tenant's every token, until the CLI has been answered
 * 429 (or, with `always`, until it exits); returns what it printed and every request it made.
 */
async function underLimit(args: string[], always = false): Promise<{ r: CliResult; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = h.service.api.server;
  const record = (req: IncomingMessage, res: ServerResponse): void => {
    const id = String(req.headers['x-request-id'] ?? '');
    if (!id.startsWith('hog-')) res.once('finish', () => seen.push({ method: req.method ?? '', url: req.url ?? '', id, status: res.statusCode }));
  };
  server.on('request', record);
  const cli = spawnCli(args, env);
  let exited = false;
  void cli.done.then(() => (exited = true));
  // A token comes every 500 ms. Six requests of this process in flight at all times take it
  // before the CLI's next try, even on a loaded machine: one request with a sleep between its
  // calls, then two without, left the CLI a token in 1 of some 30 runs on fully loaded cores.
  let n = 0;
  const hog = async (): Promise<void> => {
    while (!exited && (always || !seen.some((s) => s.status === 429))) {
      await h.call('GET', '/v1/instances/tasks?limit=1', undefined, { 'x-request-id': `hog-${n++}` });
    }
  };
  try {
    await Promise.all(Array.from({ length: 6 }, hog));
    return { r: await cli.done, seen };
  } finally {
    server.off('request', record);
  }
}

test('a 429 is waited out and the request sent again, a POST with the same x-request-id: run --wait succeeds', async () => {
  const { r, seen } = await underLimit(['run', 'echo limited', '--instances', 'e2e-0,e2e-1', '--wait']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^2 jobs: 2 succeeded /m);
  const limited = seen.filter((s) => s.status === 429);
  assert.ok(limited.length > 0, 'the CLI was answered 429');
  for (const l of limited) {
    const again = seen.filter((s) => s.id === l.id);
    assert.ok(again.every((s) => s.method === l.method && s.url === l.url), `the same request under one id: ${JSON.stringify(again)}`);
    assert.ok(again.at(-1)!.status < 300, `${l.method} ${l.url} sent again until answered: ${JSON.stringify(again)}`);
  }
  const posts = seen.filter((s) => s.method === 'POST');
  assert.equal(new Set(posts.map((p) => p.id)).size, 1, `one submission, every try under its x-request-id: ${JSON.stringify(posts)}`);
  assert.equal((await h.call('GET', '/v1/instances/tasks?limit=5')).body.data.tasks.filter((t: { command: string }) => t.command === 'echo limited').length, 1);
});

test('still limited after 5 tries: one line naming the limit and the tries, exit 2', async () => {
  const { r, seen } = await underLimit(['tasks'], true);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, 'adbfleet: refused: HTTP 429 KOOPHONE.API.1429: tenant: over 2 requests per second (refused 5 times, waiting as Retry-After said between them)\n');
  assert.deepEqual(seen.map((s) => s.status), [429, 429, 429, 429, 429]);
  assert.equal(new Set(seen.map((s) => s.id)).size, 1);
});
