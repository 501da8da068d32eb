// The simulator's control port: JSON over HTTP on loopback, for tests and operators to see the
// fleet, inject faults and read the journal from another process.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { FaultError, parseFault } from './faults.js';
import type { Fleet } from './types.js';

const MAX_BODY = 64 * 1024;

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new FaultError('body too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function handle(fleet: Fleet, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://control');
  const path = url.pathname;
  const method = req.method ?? 'GET';
  if (path === '/instances' && method === 'GET') {
    return send(
      res,
      200,
      fleet.instances.map((i) => ({ serial: i.serial, port: i.port, address: i.address, fault: i.fault, state: i.state })),
    );
  }
  if (path === '/journal') {
    if (method === 'GET') {
      const serial = url.searchParams.get('serial');
      if (serial === null) return send(res, 200, fleet.journal());
      const inst = fleet.instance(serial);
      return inst === undefined ? send(res, 404, { error: `no instance ${serial}` }) : send(res, 200, inst.journal());
    }
    if (method === 'DELETE') {
      fleet.clearJournal();
      res.writeHead(204).end();
      return;
    }
  }
  const m = /^\/instances\/([^/]+)\/fault$/.exec(path);
  if (m !== null && (method === 'PUT' || method === 'DELETE')) {
    const serial = decodeURIComponent(m[1]!);
    const inst = fleet.instance(serial);
    if (inst === undefined) return send(res, 404, { error: `no instance ${serial}` });
    if (method === 'DELETE') inst.setFault(null);
    else {
      let body: unknown;
      try {
        body = JSON.parse(await readBody(req));
      } catch (e) {
        return send(res, 400, { error: e instanceof FaultError ? e.message : 'body is not JSON' });
      }
      inst.setFault(parseFault(body));
    }
    return send(res, 200, { serial: inst.serial, fault: inst.fault, state: inst.state });
  }
  send(res, 404, { error: `no route ${method} ${path}` });
}

export async function startControlServer(
  fleet: Fleet,
  opts: { port: number; host?: string },
): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    handle(fleet, req, res).catch((e: unknown) => {
      if (e instanceof FaultError) send(res, 400, { error: e.message });
      else send(res, 500, { error: 'internal error' });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: opts.port, host: opts.host ?? '127.0.0.1' }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
