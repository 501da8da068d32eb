// Connections open at once per source address. Each open socket costs a file descriptor; without a
// cap one client holding sockets open (stalled bodies, idle keep-alives) could take all of them,
// and then every new connection fails, /healthz included. Over the cap a connection is closed as
// it arrives, before a byte is read.
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';

/** How often a source that keeps being refused is logged again (with the count in between). */
export const REFUSAL_LOG_INTERVAL_MS = 60_000;

export function capConnectionsPerSource(server: Server, max: number, log: FastifyBaseLogger): void {
  const open = new Map<string, number>();
  // Sources already logged in this interval -> refusals since that line (logged at the interval's end).
  const refused = new Map<string, number>();
  const flush = (): void => {
    for (const [source, count] of refused) {
      if (count > 0) log.warn({ source, refused: count, limit: max }, 'connections over the per-source limit closed');
    }
    refused.clear();
  };
  const timer = setInterval(flush, REFUSAL_LOG_INTERVAL_MS).unref();
  server.once('close', () => clearInterval(timer));

  server.on('connection', (socket: Socket) => {
    const source = socket.remoteAddress ?? '';
    const n = (open.get(source) ?? 0) + 1;
    if (n > max) {
      socket.destroy();
      const since = refused.get(source);
      if (since === undefined) {
        log.warn({ source, limit: max }, 'connections over the per-source limit closed (ADBFLEET_HTTP_CONNECTIONS_PER_SOURCE)');
        refused.set(source, 0);
      } else {
        refused.set(source, since + 1);
      }
      return;
    }
    open.set(source, n);
    socket.once('close', () => {
      const left = (open.get(source) ?? 1) - 1;
      if (left === 0) open.delete(source);
      else open.set(source, left);
    });
  });
}
