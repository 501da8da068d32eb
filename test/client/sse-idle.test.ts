// A task's event stream whose peer goes silent without closing (a NAT or proxy dropped it): the
// client gives up after idleMs instead of waiting for ever, and heartbeats keep a quiet stream alive
// (that second test is what shows the watchdog does not fire early: no clock is read here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AdbfleetError, createClient, type Job } from '../../src/client/index.js';

const JOB = { job_id: 'a'.repeat(32), instance_id: 'i1', state: 'running' };

/** A server that opens the stream, sends one job, then `after` decides: heartbeats or silence. */
async function streamServer(after: (res: ServerResponse) => void): Promise<{ url: string; close: () => Promise<void> }> {
  const open = new Set<ServerResponse>();
  const server = createServer((_req, res) => {
    open.add(res);
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(`event: job\ndata: ${JSON.stringify(JOB)}\n\n`);
    after(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const res of open) res.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

test('a stream silent past idleMs throws AdbfleetError with status 0, after the events it did send', async () => {
  const s = await streamServer(() => {});
  try {
    const client = createClient({ url: s.url, token: 't' });
    const seen: Job[] = [];
    await assert.rejects(
      (async () => {
        for await (const job of client.taskEvents('t1', { idleMs: 300 })) seen.push(job);
      })(),
      (e: unknown) => e instanceof AdbfleetError && e.status === 0 && /no data for 0.3 s/.test(e.message),
    );
    assert.equal(seen.length, 1);
  } finally {
    await s.close();
  }
});

test('heartbeats keep a stream without events alive past idleMs', async () => {
  let beats = 0;
  const s = await streamServer((res) => {
    const timer = setInterval(() => {
      beats += 1;
      if (beats < 6) res.write(': ping\n\n');
      else {
        clearInterval(timer);
        res.end('event: done\ndata: {"task_id": "t1"}\n\n');
      }
    }, 100);
    res.on('close', () => clearInterval(timer));
  });
  try {
    const client = createClient({ url: s.url, token: 't' });
    const seen: Job[] = [];
    for await (const job of client.taskEvents('t1', { idleMs: 300 })) seen.push(job);
    assert.equal(seen.length, 1);
    assert.equal(beats, 6);
  } finally {
    await s.close();
  }
});
