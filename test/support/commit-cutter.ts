// A TCP proxy in front of a PostgreSQL server that cuts a client off at its next COMMIT, for the
// tests of what a store does when it cannot know whether its COMMIT took effect.
import { connect, createServer, type Socket } from 'node:net';

/** A simple-query COMMIT as pg sends it: 'Q', its length, the text. */
const COMMIT = Buffer.from('COMMIT\0');

/**
 * - after: the COMMIT goes through and the client is cut off when the server answers it (the
 *   transaction committed; the client cannot know);
 * - lost: the COMMIT is dropped and the client cut off, the server's side left open (its backend
 *   idles in the transaction, as after a network cut that sent no reset);
 * - down: as lost, the client's other connections are cut too, and every new one is refused until
 *   up() (the server out of reach, as while it restarts).
 */
export type CutMode = 'after' | 'lost' | 'down';

export interface CommitCutter {
  /** the server's URL with the proxy's port */
  url: string;
  /** cuts the next COMMIT any client sends */
  arm(mode: CutMode): void;
  /** COMMITs cut so far */
  cuts(): number;
  /** connections are let through again (after `down`) */
  up(): void;
  close(): void;
}

export async function commitCutter(url: string): Promise<CommitCutter> {
  const target = new URL(url);
  let armed: CutMode | null = null;
  let refusing = false;
  let cuts = 0;
  /** client side -> server side, of every connection open */
  const pairs = new Map<Socket, Socket>();
  /** server sides of the connections cut with `lost` or `down`: left open */
  const left = new Set<Socket>();
  const server = createServer((down) => {
    if (refusing) {
      down.destroy();
      return;
    }
    const up = connect(Number(target.port), target.hostname);
    pairs.set(down, up);
    let answered = false;
    down.on('data', (d: Buffer) => {
      if (armed !== null && d.includes(COMMIT)) {
        const mode = armed;
        armed = null;
        cuts++;
        if (mode !== 'after') {
          left.add(up);
          down.destroy();
          if (mode === 'down') {
            refusing = true;
            for (const other of pairs.keys()) other.destroy();
          }
          return;
        }
        answered = true;
      }
      up.write(d);
    });
    up.on('data', (d: Buffer) => {
      if (!answered) down.write(d);
      else down.destroy();
    });
    down.on('close', () => {
      pairs.delete(down);
      if (!left.has(up)) up.destroy();
    });
    up.on('close', () => {
      left.delete(up);
      down.destroy();
    });
    down.on('error', () => {});
    up.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: url.replace(`:${target.port}/`, `:${port}/`),
    arm: (mode) => {
      armed = mode;
    },
    cuts: () => cuts,
    up: () => {
      refusing = false;
    },
    close: () => {
      server.close();
      for (const socket of [...pairs.keys(), ...pairs.values(), ...left]) socket.destroy();
    },
  };
}
