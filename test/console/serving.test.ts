// /console as the service serves it (src/api/console.ts): index.html for the console's own paths,
// hashed assets cached for good, a strict Content-Security-Policy, nothing outside the build, and a
// 503 saying what to do when the console was never built. A stand-in build in a temp dir.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApiHarness, type ApiHarness } from '../support/index.js';

const INDEX = '<!doctype html><title>console</title><script type="module" src="/console/assets/index-abc123.js"></script>';
const SCRIPT = 'console.log("console")';

async function withBuild(fn: (h: ApiHarness, dir: string) => Promise<void>, build = true): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'adbfleet-console-'));
  const dist = join(dir, 'console');
  if (build) {
    mkdirSync(join(dist, 'assets'), { recursive: true });
    writeFileSync(join(dist, 'index.html'), INDEX);
    writeFileSync(join(dist, 'assets', 'index-abc123.js'), SCRIPT);
    writeFileSync(join(dir, 'secret.txt'), 'not for the web');
  }
  const h = await startApiHarness({ consoleDir: dist });
  try {
    await fn(h, dist);
  } finally {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the console and its deep links get index.html, revalidated each time, under a strict CSP', async () => {
  await withBuild(async (h) => {
    for (const url of ['/console', '/console/', '/console/index.html', '/console/tasks/0123abcd', '/console/operator']) {
      const res = await h.app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 200, url);
      assert.equal(res.body, INDEX, url);
      assert.equal(res.headers['content-type'], 'text/html; charset=utf-8', url);
      assert.equal(res.headers['cache-control'], 'no-cache', url);
      const csp = String(res.headers['content-security-policy']);
      assert.match(csp, /default-src 'self'/, url);
      assert.match(csp, /script-src 'self'(;|$)/, url);
      assert.match(csp, /connect-src 'self'/, url);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:/, url);
      assert.equal(res.headers['x-content-type-options'], 'nosniff', url);
    }
    const head = await h.app.inject({ method: 'HEAD', url: '/console/instances' });
    assert.equal(head.statusCode, 200);
  });
});

test('hashed assets are cached for a year; a missing asset is a 404, not index.html', async () => {
  await withBuild(async (h) => {
    const res = await h.app.inject({ method: 'GET', url: '/console/assets/index-abc123.js' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.body, SCRIPT);
    assert.equal(res.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable');

    const missing = await h.app.inject({ method: 'GET', url: '/console/assets/index-gone.js' });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().error_code, 'KOOPHONE.API.1000');
  });
});

test('nothing outside the build is served', async () => {
  await withBuild(async (h) => {
    // The router decodes %2f inside the path's tail, so these reach the handler as ../secret.txt.
    for (const url of ['/console/..%2fsecret.txt', '/console/assets/..%2f..%2fsecret.txt', '/console/%2e%2e%2fsecret.txt']) {
      const res = await h.app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 404, `${url}: ${res.body}`);
    }
    // Backslashes, NUL, double encoding, malformed escapes: never a file outside the build, never a
    // crash; at most the console's own index.html (for a path that names no file of the build).
    for (const url of [
      '/console/..%5csecret.txt',
      '/console/..\\secret.txt',
      '/console/%2e%2e/secret.txt',
      '/console/%252e%252e%252fsecret.txt',
      '/console/..%2f..%2f..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd',
      '/console/%2fetc%2fpasswd',
      '/console/secret.txt%00.js',
      '/console/assets/%00',
      '/console/%E0%A4%A',
    ]) {
      const res = await h.app.inject({ method: 'GET', url });
      assert.ok([200, 400, 404].includes(res.statusCode), `${url}: ${res.statusCode} ${res.body}`);
      assert.ok(!res.body.includes('not for the web') && !res.body.includes('root:'), `${url}: ${res.body}`);
      if (res.statusCode === 200) assert.equal(res.body, INDEX, url);
    }
  });
});

test('without a build, /console answers 503 saying how to build it', async () => {
  await withBuild(async (h) => {
    for (const url of ['/console', '/console/tasks']) {
      const res = await h.app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 503, url);
      assert.deepEqual(res.json(), { error_code: 'KOOPHONE.API.1503', error_msg: 'console: the console is not built: run npm run build' });
    }
  }, false);
});
