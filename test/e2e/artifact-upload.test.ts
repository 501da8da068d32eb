// Uploads of 64 and 256 MiB to `adbfleet serve` in its own process: stored whole and right, while
// the process's peak resident memory (VmHWM) grows by nothing like the file: the body streams to disk.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request, startServeProcess, type Child } from '../support/index.js';
import { upload } from '../support/upload.js';

const procSkip = existsSync('/proc/self/status') ? false : 'no /proc/<pid>/status to read the peak RSS from';
const MiB = 1024 * 1024;
let dataDir = '';
let child: Child | null = null;
let url = '';
let token = '';
const adminToken = `adm_${randomUUID()}`;

before(async () => {
  if (procSkip !== false) return;
  dataDir = await mkdtemp(join(tmpdir(), 'adbfleet-upload-'));
  ({ child, url } = await startServeProcess({ ADBFLEET_DATA: dataDir, ADBFLEET_ADMIN_TOKEN: adminToken, ADBFLEET_LOG_LEVEL: 'info' }));
  const tenant = await request(url, 'POST', '/admin/v1/tenants', { name: 'uploader' }, { authorization: `Bearer ${adminToken}` });
  token = tenant.body.token;
});
after(async () => {
  await child?.kill();
  if (dataDir !== '') await rm(dataDir, { recursive: true, force: true });
});

/** The child's peak resident set so far, in bytes. */
async function peakRss(pid: number): Promise<number> {
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
  if (m === null) throw new Error('no VmHWM line');
  return Number(m[1]) * 1024;
}

/** `total` bytes, a 64 KiB pattern (its index in each block) repeated: the test holds one block. */
async function* pattern(total: number): AsyncGenerator<Buffer> {
  const block = Buffer.alloc(64 * 1024);
  for (let at = 0; at < total; at += block.length) {
    block.writeUInt32LE(at / block.length, 0);
    yield Buffer.from(block.subarray(0, Math.min(block.length, total - at)));
  }
}

async function sha256Of(total: number): Promise<string> {
  const hash = createHash('sha256');
  for await (const b of pattern(total)) hash.update(b);
  return hash.digest('hex');
}

const send = (total: number) =>
  upload(url, { 'x-request-id': randomUUID(), 'x-auth-token': token, 'content-type': 'application/octet-stream', 'content-length': String(total) }, pattern(total));

test('64 MiB and 256 MiB uploads are stored whole while the service\'s peak memory grows by far less than either', { skip: procSkip }, async () => {
  const pid = child!.proc.pid!;
  // Warm up the route (code loaded, buffers allocated once) before measuring.
  for (let i = 0; i < 3; i++) assert.equal((await send(4 * MiB)).status, 200);
  for (const total of [64 * MiB, 256 * MiB]) {
    const before = await peakRss(pid);
    const r = await send(total);
    const after = await peakRss(pid);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.data.size, total);
    assert.equal(r.body.data.sha256, await sha256Of(total));
    const sha: string = r.body.data.sha256;
    assert.equal((await stat(join(dataDir, 'artifacts', sha.slice(0, 2), sha))).size, total);
    const growth = after - before;
    console.log(`peak RSS ${(before / MiB).toFixed(1)} -> ${(after / MiB).toFixed(1)} MiB for a ${total / MiB} MiB upload (+${(growth / MiB).toFixed(1)} MiB)`);
    // What grows is garbage the collector has not taken yet (the socket's chunks, collected when
    // V8's external memory passes its threshold), bounded whatever the file's size; a body held
    // in memory would add at least its own size.
    assert.ok(growth < total / 2 && growth < 64 * MiB, `peak RSS grew by ${(growth / MiB).toFixed(1)} MiB for a ${total / MiB} MiB upload`);
  }
});
