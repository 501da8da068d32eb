// One node at a time for work that every node could do but that is wasted twice (retention): a
// session advisory lock per role, held on a connection of its own for as long as this process
// keeps it. A node that dies releases it when its connection ends (at once for a killed process;
// after TCP keepalive for a lost host), and another node takes it at its next try. No correctness
// rests on it: purges skip rows another is purging (SKIP LOCKED).
import type pg from 'pg';
import { createClient } from './db.js';

const LEAD = 'SELECT pg_try_advisory_lock(20543, hashtext($1)) AS led';

export class Leadership {
  readonly #connect: { url: string; schema: string };
  /** role -> the connection holding its lock */
  readonly #held = new Map<string, pg.Client>();
  #closed = false;

  constructor(connect: { url: string; schema: string }) {
    this.#connect = connect;
  }

  /** True while this process leads `role` (taken now if free); false when another node does. */
  async tryLead(role: string): Promise<boolean> {
    if (this.#closed) return false;
    if (this.#held.has(role)) return true;
    const c = createClient(this.#connect);
    // Heard from the start: an 'error' nobody hears (the connection lost during the LEAD query)
    // would crash the process. The connection lost: the lock went with it; the next try takes it
    // again, here or elsewhere.
    c.on('error', () => {
      if (this.#held.get(role) === c) this.#held.delete(role);
      void c.end().catch(() => {});
    });
    // A lock is per database: the schema keeps two deployments on one database apart.
    const key = `${this.#connect.schema}:${role}`;
    let led = false;
    try {
      await c.connect();
      led = (await c.query<{ led: boolean }>(LEAD, [key])).rows[0]?.led === true;
    } catch {
      led = false;
    }
    if (!led || this.#closed) {
      await c.end().catch(() => {});
      return false;
    }
    c.on('end', () => {
      if (this.#held.get(role) === c) this.#held.delete(role);
    });
    this.#held.set(role, c);
    return true;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const clients = [...this.#held.values()];
    this.#held.clear();
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
  }
}
