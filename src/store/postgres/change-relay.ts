// The change feed across processes. This store's own commits reach its local listeners right after
// COMMIT, as with SQLite. Other processes hear of them by NOTIFY on the schema's channel
// (`adbfleet:<schema>`), sent after the commit by a statement of its own: NOTIFY inside the submit
// transaction would take the database-wide notify lock at every COMMIT and serialize them. What one
// turn of the event loop committed goes out as one payload (more only past the 8,000-byte limit):
//
//   {"n": node, "q": lastJobKey, "c": [[queued keys], [running keys]], "t": [task keys], "i": [instance ids]}
//
// each field present only when there is something to tell: q jobs were committed queued up to
// that key (onQueued); c jobs were cancelled (onCancelled); t jobs of these tasks changed state
// (onTaskChanged); i instances were added, reassigned or removed (onInstancesChanged). `n` is the
// sender, which ignores its own notices. A LISTEN connection turns the other processes' notices
// into the same local events.
//
// No correctness rests on a notice arriving: the worker reads the queue every second anyway (and
// the queue's horizon wakes it while keys are pending, queue-horizon.ts), and here every watched
// task is re-read once a second (its watchers re-read the store and send only what changed), so a
// notice lost (a dropped LISTEN connection, a failed NOTIFY) costs at most about a second.
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { CancelledJobs, LocalChangeFeed } from '../changes.js';
import { createClient } from './db.js';
import { NotifySql } from './notify.sql.js';

/** Keys or ids per payload, so one stays under PostgreSQL's 8,000-byte payload limit. */
const KEYS_PER_NOTICE = 300;
const IDS_PER_NOTICE = 150;
/** How often watched tasks are re-read, and how soon a dropped LISTEN connection is retried. */
const TICK_MS = 1_000;

interface Notice {
  n: string;
  q?: number;
  c?: [number[], number[]];
  t?: number[];
  i?: string[];
}

export class ChangeRelay {
  readonly #feed: LocalChangeFeed;
  readonly #pool: pg.Pool;
  readonly #connect: { url: string; schema: string };
  readonly #channel: string;
  readonly #node = randomBytes(8).toString('hex');
  #queued: number | null = null;
  #cancelledQueued: number[] = [];
  #cancelledRunning: number[] = [];
  readonly #tasks = new Set<number>();
  readonly #instances: string[] = [];
  #scheduled = false;
  #listener: pg.Client | null = null;
  #tick: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(feed: LocalChangeFeed, pool: pg.Pool, connect: { url: string; schema: string }) {
    this.#feed = feed;
    this.#pool = pool;
    this.#connect = connect;
    this.#channel = `adbfleet:${connect.schema}`;
  }

  /** Opens the LISTEN connection (throws when it cannot) and starts the re-read tick. */
  async start(): Promise<void> {
    await this.#listen();
    this.#tick = setInterval(() => {
      const watched = this.#feed.watchedTasks();
      if (watched.length > 0) this.#feed.taskChanged(watched);
      if (this.#listener === null && !this.#closed) this.#listen().catch(() => {});
    }, TICK_MS);
    this.#tick.unref();
  }

  async stop(): Promise<void> {
    this.#closed = true;
    if (this.#tick !== null) clearInterval(this.#tick);
    const l = this.#listener;
    this.#listener = null;
    await l?.end().catch(() => {});
  }

  // --- this process's commits: told here now, and to the others after this turn ---

  queued(lastJobKey: number): void {
    this.#feed.queued(lastJobKey);
    this.#queued = Math.max(this.#queued ?? 0, lastJobKey);
    this.#schedule();
  }

  cancelled(jobs: CancelledJobs): void {
    if (jobs.queued.length === 0 && jobs.running.length === 0) return;
    this.#feed.cancelled(jobs);
    this.#cancelledQueued.push(...jobs.queued);
    this.#cancelledRunning.push(...jobs.running);
    this.#schedule();
  }

  taskChanged(taskKeys: Iterable<number>): void {
    const keys = [...taskKeys];
    if (keys.length === 0) return;
    this.#feed.taskChanged(keys);
    for (const k of keys) this.#tasks.add(k);
    this.#schedule();
  }

  instancesChanged(instanceIds: readonly string[]): void {
    if (instanceIds.length === 0) return;
    this.#feed.instancesChanged(instanceIds);
    this.#instances.push(...instanceIds);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled || this.#closed) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      const payloads = this.#payloads();
      // A failed NOTIFY costs latency, not correctness (see the top of this file).
      if (payloads.length > 0) this.#pool.query(NotifySql.notify, [this.#channel, payloads]).catch(() => {});
    });
  }

  /** The turn's notices, as few payloads as the size limit allows. */
  #payloads(): string[] {
    const out: Notice[] = [];
    const first: Notice = { n: this.#node };
    if (this.#queued !== null) first.q = this.#queued;
    out.push(first);
    const q = chunks(this.#cancelledQueued, KEYS_PER_NOTICE);
    const r = chunks(this.#cancelledRunning, KEYS_PER_NOTICE);
    for (let i = 0; i < Math.max(q.length, r.length); i++) out.push({ n: this.#node, c: [q[i] ?? [], r[i] ?? []] });
    for (const t of chunks([...this.#tasks], KEYS_PER_NOTICE)) out.push({ n: this.#node, t });
    for (const i of chunks(this.#instances, IDS_PER_NOTICE)) out.push({ n: this.#node, i });
    this.#queued = null;
    this.#cancelledQueued = [];
    this.#cancelledRunning = [];
    this.#tasks.clear();
    this.#instances.length = 0;
    // Merge the small ones back into the first: most turns send one payload.
    const kinds = out.flatMap((o) => Object.keys(o).filter((k) => k !== 'n'));
    const small = out.reduce((n, o) => n + JSON.stringify(o).length, 0) < 7_000;
    const merged = small && new Set(kinds).size === kinds.length ? [Object.assign({}, ...out) as Notice] : out;
    return merged.filter((o) => Object.keys(o).length > 1).map((o) => JSON.stringify(o));
  }

  async #listen(): Promise<void> {
    const client = createClient(this.#connect);
    client.on('notification', (msg) => {
      if (msg.payload !== undefined) this.#received(msg.payload);
    });
    const dropped = (): void => {
      if (this.#listener !== client) return;
      this.#listener = null;
      client.end().catch(() => {});
    };
    client.on('error', dropped);
    client.on('end', dropped);
    await client.connect();
    try {
      await client.query(NotifySql.listen(this.#channel));
    } catch (err) {
      await client.end().catch(() => {});
      throw err;
    }
    if (this.#closed) {
      await client.end().catch(() => {});
      return;
    }
    const reconnected = this.#listener === null && this.#tick !== null;
    this.#listener = client;
    // Notices sent while no connection listened are lost: read as if each had come.
    if (reconnected) {
      this.#feed.queued(Number.MAX_SAFE_INTEGER);
      this.#feed.taskChanged(this.#feed.watchedTasks());
    }
  }

  #received(payload: string): void {
    let notice: Notice;
    try {
      notice = JSON.parse(payload) as Notice;
    } catch {
      return; // not ours: nothing to tell
    }
    if (notice.n === this.#node) return;
    if (typeof notice.q === 'number') this.#feed.queued(notice.q);
    if (Array.isArray(notice.c)) this.#feed.cancelled({ queued: notice.c[0] ?? [], running: notice.c[1] ?? [] });
    if (Array.isArray(notice.t)) this.#feed.taskChanged(notice.t);
    if (Array.isArray(notice.i)) this.#feed.instancesChanged(notice.i);
  }
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
