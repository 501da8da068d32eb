// fetchToBlob against real local HTTP servers: what it stores, and each refusal in the words a
// tenant reads (allow-list, redirects, HTTP status, size, time, a broken download). After every
// failure the artifact directory's tmp/ is empty.
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobStore, FetchError, MAX_REDIRECTS, fetchToBlob, type FetchOptions } from '../../src/artifacts/index.js';
import { freePort } from '../support/index.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

let dir = '';
let blobs: BlobStore;
/** what each server does, by path */
const routes = new Map<string, Handler>();
/** requests each server received, by path */
const seen: { server: 'allowed' | 'other'; path: string }[] = [];
let allowed: Server;
let other: Server;
let port = 0;
let otherPort = 0;

function listen(name: 'allowed' | 'other'): Promise<Server> {
  const server = createServer((req, res) => {
    seen.push({ server: name, path: req.url ?? '' });
    const handler = routes.get(req.url ?? '');
    if (handler === undefined) {
      res.writeHead(404).end('no such file');
      return;
    }
    handler(req, res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'adbfleet-fetch-'));
  blobs = new BlobStore(dir);
  await blobs.init();
  allowed = await listen('allowed');
  other = await listen('other');
  port = (allowed.address() as AddressInfo).port;
  otherPort = (other.address() as AddressInfo).port;
});
after(async () => {
  allowed.closeAllConnections();
  other.closeAllConnections();
  await new Promise((r) => allowed.close(r));
  await new Promise((r) => other.close(r));
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  routes.clear();
  seen.length = 0;
});

const OPTS: FetchOptions = { allowlist: ['127.0.0.1'], timeoutMs: 5_000, maxBytes: 1024 * 1024 };
const url = (path: string): string => `http://127.0.0.1:${port}${path}`;

async function refusal(target: string, opts: Partial<FetchOptions> = {}): Promise<string> {
  try {
    await fetchToBlob(target, { ...OPTS, ...opts }, blobs);
  } catch (err) {
    assert.ok(err instanceof FetchError, `not a FetchError: ${String(err)}`);
    assert.deepEqual(await readdir(blobs.tempDir), [], 'a temporary file was left behind');
    return err.message;
  }
  assert.fail(`${target} was fetched`);
}

test('a file is stored under its sha256 with its size', async () => {
  const body = Buffer.alloc(300_000, 'apk');
  routes.set('/app.apk', (_req, res) => res.writeHead(200, { 'content-length': body.length }).end(body));
  const ref = await fetchToBlob(url('/app.apk'), OPTS, blobs);
  assert.deepEqual(ref, { sha256: createHash('sha256').update(body).digest('hex'), size: body.length });
  assert.ok((await readFile(blobs.pathOf(ref.sha256))).equals(body));
  assert.deepEqual(await readdir(blobs.tempDir), []);
});

test('a chunked answer (no Content-Length) and an empty one', async () => {
  routes.set('/chunked', (_req, res) => {
    res.write('part one, ');
    setTimeout(() => res.end('part two'), 20);
  });
  routes.set('/empty', (_req, res) => res.writeHead(200, { 'content-length': 0 }).end());
  assert.equal((await fetchToBlob(url('/chunked'), OPTS, blobs)).size, 'part one, part two'.length);
  assert.equal((await fetchToBlob(url('/empty'), OPTS, blobs)).size, 0);
});

test('hosts outside the allow-list, an empty allow-list and other schemes are refused before any request', async () => {
  assert.equal(await refusal(`http://localhost:${port}/x`), 'host localhost is not in the allow-list');
  assert.equal(await refusal(url('/x'), { allowlist: [] }), 'the operator has not allowed fetching URLs (the allow-list is empty)');
  assert.equal(await refusal('ftp://127.0.0.1/app.apk'), 'uses the scheme ftp: (only http and https are fetched)');
  assert.equal(await refusal('file:///etc/passwd'), 'uses the scheme file: (only http and https are fetched)');
  assert.equal(await refusal('not a url'), 'is not a valid URL');
  assert.equal(await refusal(`http://user:pw@127.0.0.1:${port}/x`), 'must not carry a user name or password');
  // The allow-list names hosts: the port is not part of the match; the case of the URL's is not either.
  assert.equal(await refusal(`http://LOCALHOST:${port}/x`), 'host localhost is not in the allow-list');
  // An entry with a port allows that port alone (80 and 443 are the schemes' when the URL has none).
  assert.equal(await refusal(url('/x'), { allowlist: [`127.0.0.1:${port + 1}`] }), `host 127.0.0.1 on port ${port} is not in the allow-list`);
  assert.equal(await refusal('http://127.0.0.1/x', { allowlist: ['127.0.0.1:8080'] }), 'host 127.0.0.1 on port 80 is not in the allow-list');
  assert.deepEqual(seen, []);
});

test('an allow-list entry with the port allows that host on that port', async () => {
  routes.set('/ported', (_req, res) => res.end('ported'));
  assert.equal((await fetchToBlob(url('/ported'), { ...OPTS, allowlist: [`127.0.0.1:${port}`] }, blobs)).size, 'ported'.length);
});

test('redirects are followed on allowed hosts, relative ones too', async () => {
  routes.set('/a', (_req, res) => res.writeHead(302, { location: '/b' }).end());
  routes.set('/b', (_req, res) => res.writeHead(301, { location: url('/c') }).end());
  routes.set('/c', (_req, res) => res.end('at last'));
  const ref = await fetchToBlob(url('/a'), OPTS, blobs);
  assert.equal(ref.size, 'at last'.length);
  assert.deepEqual(seen.map((s) => s.path), ['/a', '/b', '/c']);
});

test('a redirect to a host outside the allow-list is refused without asking it anything', async () => {
  routes.set('/a', (_req, res) => res.writeHead(307, { location: `http://localhost:${otherPort}/evil` }).end());
  assert.equal(await refusal(url('/a')), 'redirected to host localhost, which is not in the allow-list');
  assert.deepEqual(seen, [{ server: 'allowed', path: '/a' }]);
  routes.set('/s', (_req, res) => res.writeHead(302, { location: 'gopher://127.0.0.1/x' }).end());
  assert.equal(await refusal(url('/s')), 'redirected to the scheme gopher: (only http and https are fetched)');
});

test(`more than ${MAX_REDIRECTS} redirects are refused; a redirect without Location is a failure`, async () => {
  routes.set('/loop', (_req, res) => res.writeHead(302, { location: '/loop' }).end());
  assert.equal(await refusal(url('/loop')), `more than ${MAX_REDIRECTS} redirects`);
  assert.equal(seen.length, MAX_REDIRECTS + 1);
  routes.set('/nowhere', (_req, res) => res.writeHead(302).end());
  assert.equal(await refusal(url('/nowhere')), 'HTTP 302 from 127.0.0.1 without a Location to follow');
});

test('a status other than 2xx is a failure naming it and the host', async () => {
  assert.equal(await refusal(url('/missing.apk')), 'HTTP 404 from 127.0.0.1');
  routes.set('/boom', (_req, res) => res.writeHead(503).end('down'));
  assert.equal(await refusal(url('/boom')), 'HTTP 503 from 127.0.0.1');
});

test('too large: by its Content-Length before any byte is stored, and while streaming without one', async () => {
  const big = Buffer.alloc(2048, 1);
  routes.set('/declared', (_req, res) => res.writeHead(200, { 'content-length': big.length }).end(big));
  routes.set('/streamed', (_req, res) => {
    res.write(big.subarray(0, 1000));
    setTimeout(() => res.end(big.subarray(1000)), 20);
  });
  assert.equal(await refusal(url('/declared'), { maxBytes: 1024 }), 'larger than 1024 bytes (Content-Length 2048)');
  assert.equal(await refusal(url('/streamed'), { maxBytes: 1024 }), 'larger than 1024 bytes');
  // Exactly the limit is fine.
  assert.equal((await fetchToBlob(url('/declared'), { ...OPTS, maxBytes: 2048 }, blobs)).size, 2048);
});

test('the whole fetch has one deadline: a server that never answers, and a body that stalls', async () => {
  const held: ServerResponse[] = [];
  routes.set('/silent', (_req, res) => void held.push(res));
  routes.set('/stall', (_req, res) => {
    res.writeHead(200, { 'content-length': 100_000 });
    res.write(Buffer.alloc(10_000));
    held.push(res);
  });
  assert.equal(await refusal(url('/silent'), { timeoutMs: 300 }), 'timed out after 0.3 s');
  assert.equal(await refusal(url('/stall'), { timeoutMs: 300 }), 'timed out after 0.3 s');
  for (const res of held) res.destroy();
});

test('a refused connection and a download that breaks off are named', async () => {
  const closed = await freePort();
  assert.equal(await refusal(`http://127.0.0.1:${closed}/x`), 'could not fetch from 127.0.0.1: the connection was refused');
  routes.set('/cut', (_req, res) => {
    res.writeHead(200, { 'content-length': 100_000 });
    res.write(Buffer.alloc(10_000), () => res.destroy());
  });
  assert.equal(await refusal(url('/cut')), 'the download from 127.0.0.1 broke off');
});
