// Instances behind an adb server (`adb-server://HOST:PORT/SERIAL`, SPEC §11): the same face as
// AdbPool, so the worker does not care which path an instance takes. The adb server protocol
// has no multiplexing: every command is its own TCP connection to the server
// (`host:transport:SERIAL`, then the service; server-protocol.ts), so sockets per server are
// capped (callers past the cap wait in FIFO order). Host queries (get-state, features) have a
// small cap of their own: a server busy with long commands still answers health checks.
// "Connected" means the server last said the device is `device`; there is no connection to keep.

import { parseAdbServerAddress, type AdbServerTarget } from './address.js';
import { backoffRetryAt } from './backoff.js';
import { AdbError, isAdbError, type AdbErrorCode } from './errors.js';
import { execOn, type CancelSignal, type ExecOptions, type ExecResult, type ExecTarget } from './exec.js';
import { rebootOn } from './reboot.js';
import { SmartSocket, serverFailure } from './server-protocol.js';
import { Slots } from './slots.js';
import { openServerSocket } from './socket.js';
import type { StreamHandle, StreamHandler } from './stream.js';
import { execRawOn, type RawExecOptions, type RawExecResult } from './exec-raw.js';
import type { CallOptions } from './pool-entry.js';
import type { SyncOptions, SyncTarget } from './sync-call.js';
import { listOn, statOn, type SyncEntry } from './sync-ops.js';
import { pullOn, type PullOptions } from './sync-pull.js';
import { pushOn, type PushOptions, type TransferResult } from './sync-push.js';
import { MAX_PAYLOAD, type SyncStat } from './wire/index.js';
import type { Writable } from 'node:stream';

export interface AdbServerPoolOptions {
  /** how long connect() waits for the server's get-state and features answers */
  connectTimeoutMs: number;
  /** how long an exec waits for the server and the device to take the service (then OPEN_UNANSWERED) */
  openTimeoutMs: number;
  /** device services (exec, reboot) in flight per adb server; callers past it wait FIFO (default 64) */
  maxSocketsPerServer?: number;
  /** host queries (get-state, features) in flight per adb server (default 16) */
  maxQueriesPerServer?: number;
  /** first wait after a failed connect (default 250 ms), doubling up to backoffMaxMs (default 30 s) */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
}

export interface AdbServerPoolStats {
  /** adb servers in use */
  servers: number;
  /** sockets open to them (device services and host queries) */
  openSockets: number;
  /** calls waiting for a socket slot */
  waiting: number;
  connectsFailed: number;
}

interface Server {
  readonly streams: Slots;
  readonly queries: Slots;
  readonly sockets: Set<SmartSocket>;
}

interface Entry {
  readonly address: string;
  readonly target: AdbServerTarget;
  readonly server: Server;
  /** the device's features as the server reports them; null until asked, or after a failure */
  features: readonly string[] | null;
  /** the server said `device` and nothing failed to reach it since */
  reachable: boolean;
  connecting: Promise<void> | null;
  failures: number;
  retryAt: number;
  lastError: AdbError | null;
  lastReceivedAt: number;
}

/** Failures that say the device is not there (as opposed to a command's own timeout or cancel). */
const GONE: ReadonlySet<AdbErrorCode> = new Set(['CONNECT_FAILED', 'AUTH_REJECTED', 'CONNECTION_LOST', 'OPEN_UNANSWERED']);
/** As AdbPool's reboot: adbd acknowledges `reboot:` by going down. */
const REBOOT_ACK_MS = 10_000;

type DisconnectListener = (address: string, err: AdbError) => void;

export class AdbServerPool {
  readonly #opts: Required<AdbServerPoolOptions>;
  readonly #servers = new Map<string, Server>();
  readonly #entries = new Map<string, Entry>();
  readonly #listeners = new Set<DisconnectListener>();
  #nextId = 1;
  #closed = false;
  #connectsFailed = 0;

  constructor(opts: AdbServerPoolOptions) {
    this.#opts = {
      connectTimeoutMs: opts.connectTimeoutMs,
      openTimeoutMs: opts.openTimeoutMs,
      maxSocketsPerServer: opts.maxSocketsPerServer ?? 64,
      maxQueriesPerServer: opts.maxQueriesPerServer ?? 16,
      backoffBaseMs: opts.backoffBaseMs ?? 250,
      backoffMaxMs: opts.backoffMaxMs ?? 30_000,
    };
  }

  exec(address: string, command: string, opts: ExecOptions): Promise<ExecResult> {
    return this.#onSocket(address, opts, async (e, deadline) => {
      // Unknown features would decide shell v1 against a shell v2 device: asked once per device.
      const features = e.features ?? (await this.#features(e, Math.min(deadline, Date.now() + this.#opts.connectTimeoutMs), opts.signal));
      return execOn(this.#execTarget(e, features), command, timeLeft(address, opts, deadline, 'no exit'));
    });
  }

  /** `exec:CMD` into sink, byte for byte (exec-raw.ts), on its own socket through the server. */
  execRaw(address: string, command: string, sink: Writable, opts: RawExecOptions): Promise<RawExecResult> {
    return this.#call(address, opts, (t, o) => execRawOn(t, command, sink, o));
  }

  push(address: string, localPath: string, remotePath: string, opts: PushOptions): Promise<TransferResult> {
    return this.#call(address, opts, (t, o) => pushOn(t, localPath, remotePath, o));
  }

  pull(address: string, remotePath: string, localPath: string, opts: PullOptions): Promise<TransferResult> {
    return this.#call(address, opts, (t, o) => pullOn(t, remotePath, localPath, o));
  }

  stat(address: string, remotePath: string, opts: SyncOptions): Promise<SyncStat | null> {
    return this.#call(address, opts, (t, o) => statOn(t, remotePath, o));
  }

  list(address: string, remotePath: string, opts: SyncOptions): Promise<SyncEntry[]> {
    return this.#call(address, opts, (t, o) => listOn(t, remotePath, o));
  }

  /** A transfer or raw exec, under the same socket cap as exec. */
  #call<T, O extends SyncOptions>(address: string, opts: O, run: (target: SyncTarget, opts: O) => Promise<T>): Promise<T> {
    return this.#onSocket(address, opts, (e, deadline) =>
      // The server re-chunks what it is given: 1 MiB is only the size of our reads.
      run({ ...this.#execTarget(e, e.features ?? []), maxPayload: MAX_PAYLOAD }, timeLeft(address, opts, deadline, 'not done')),
    );
  }

  /** One device service on a socket of its own, under the server's socket cap; the deadline
   * (opts.timeoutMs from now) covers the wait for the socket. */
  async #onSocket<T>(address: string, opts: CallOptions, run: (e: Entry, deadline: number) => Promise<T>): Promise<T> {
    const e = this.#entry(address);
    const deadline = opts.timeoutMs === undefined ? Infinity : Date.now() + opts.timeoutMs;
    await e.server.streams.acquire(opts.signal, deadline, () => new AdbError('CANCELLED', address, 'aborted while waiting for a socket to the adb server'), () => new AdbError('TIMEOUT', address, `no socket to the adb server within ${opts.timeoutMs} ms`));
    try {
      const r = await run(e, deadline);
      e.lastReceivedAt = Date.now();
      return r;
    } catch (err) {
      this.#failed(e, err);
      throw err;
    } finally {
      e.server.streams.release();
    }
  }


  async reboot(address: string, opts: { timeoutMs?: number } = {}): Promise<void> {
    const e = this.#entry(address);
    const timeoutMs = opts.timeoutMs ?? REBOOT_ACK_MS;
    await e.server.streams.acquire(undefined, Date.now() + timeoutMs, () => new AdbError('CANCELLED', address), () => new AdbError('TIMEOUT', address, `reboot: no socket to the adb server within ${timeoutMs} ms`));
    try {
      await rebootOn(this.#execTarget(e, e.features ?? []), timeoutMs);
      // The device is going down; the server may still list it for a moment. The next job asks
      // again (connect), and the health monitor sees it go and come back through get-state.
      e.reachable = false;
      e.features = null;
    } catch (err) {
      this.#failed(e, err);
      throw err;
    } finally {
      e.server.streams.release();
    }
  }

  /**
   * Is the device there? Asks the server for its state and features (no I/O once known): only
   * `device` is; offline, unauthorized (AUTH_REJECTED) and unknown serials fail. After a failure
   * the next attempt waits, as AdbPool's do (nextAttemptAt).
   */
  connect(address: string): Promise<void> {
    if (this.#closed) return Promise.reject(new AdbError('CANCELLED', address, 'the pool is closed'));
    let e: Entry;
    try {
      e = this.#entry(address);
    } catch (err) {
      return Promise.reject(err);
    }
    if (e.reachable && e.features !== null) return Promise.resolve();
    if (e.connecting !== null) return e.connecting;
    if (e.lastError !== null && Date.now() < e.retryAt) return Promise.reject(e.lastError);
    const deadline = Date.now() + this.#opts.connectTimeoutMs;
    e.connecting = (async () => {
      await this.#state(e, deadline, 'CONNECT_FAILED');
      await this.#features(e, deadline, undefined);
    })().then(
      () => {
        e.connecting = null;
        e.failures = 0;
        e.lastError = null;
        e.reachable = true;
      },
      (err: unknown) => {
        e.connecting = null;
        const failure = isAdbError(err) ? err : new AdbError('CONNECT_FAILED', address, String(err));
        if (failure.code !== 'CANCELLED') this.#backOff(e, failure);
        this.#failed(e, failure);
        throw failure;
      },
    );
    return e.connecting;
  }

  /** The health check: `host-serial:SERIAL:get-state` answers `device` within timeoutMs. */
  async ping(address: string, timeoutMs: number): Promise<void> {
    if (this.#closed) throw new AdbError('CANCELLED', address, 'the pool is closed');
    const e = this.#entry(address);
    try {
      await this.#state(e, Date.now() + timeoutMs, 'TIMEOUT');
    } catch (err) {
      this.#failed(e, err);
      throw err;
    }
  }

  isConnected(address: string): boolean {
    return this.#entries.get(address)?.reachable === true;
  }

  nextAttemptAt(address: string): number {
    const e = this.#entries.get(address);
    return e === undefined || e.lastError === null ? 0 : e.retryAt;
  }

  /** When a command on the device last finished with its output (epoch ms; 0: none yet). */
  lastReceivedAt(address: string): number {
    return this.#entries.get(address)?.lastReceivedAt ?? 0;
  }

  /** Called when a device that was reachable stops being so (a command or check found it gone). */
  onDisconnect(listener: DisconnectListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  stats(): AdbServerPoolStats {
    let openSockets = 0;
    let waiting = 0;
    for (const s of this.#servers.values()) {
      openSockets += s.sockets.size;
      waiting += s.streams.waiting + s.queries.waiting;
    }
    return { servers: this.#servers.size, openSockets, waiting, connectsFailed: this.#connectsFailed };
  }

  /** Closes every socket: running commands fail with CANCELLED, later calls too. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const s of this.#servers.values()) {
      for (const sock of [...s.sockets]) sock.abort(new AdbError('CANCELLED', sock.address, 'the pool is closed'));
    }
  }

  /** `host-serial:SERIAL:get-state` must answer `device`. Rejects with CONNECT_FAILED /
   * AUTH_REJECTED (the server's FAIL, or another state), or `onTimeout` at the deadline. */
  async #state(e: Entry, deadline: number, onTimeout: AdbErrorCode): Promise<void> {
    const state = await this.#query(e, `host-serial:${e.target.serial}:get-state`, deadline, undefined, onTimeout);
    if (state !== 'device') {
      // Debian's adb 29 answers FAIL for offline and unauthorized; newer servers may answer OKAY
      // with the state itself: the same verdicts either way.
      throw state === 'unauthorized' ? serverFailure(e.address, 'device unauthorized') : new AdbError('CONNECT_FAILED', e.address, `adb server: the device is ${state}`);
    }
  }

  async #features(e: Entry, deadline: number, signal: CancelSignal | undefined): Promise<readonly string[]> {
    const text = await this.#query(e, `host-serial:${e.target.serial}:features`, deadline, signal, 'CONNECT_FAILED');
    const features = text.split(',').filter((f) => f !== '');
    e.features = features;
    return features;
  }

  /** One host query on its own socket, under the server's query cap. */
  async #query(e: Entry, request: string, deadline: number, signal: CancelSignal | undefined, onTimeout: AdbErrorCode): Promise<string> {
    if (this.#closed) throw new AdbError('CANCELLED', e.address, 'the pool is closed');
    const what = request.slice(request.lastIndexOf(':') + 1);
    const started = Date.now();
    const timedOut = (): AdbError => new AdbError(onTimeout, e.address, `adb server: no answer to ${what} within ${deadline - started} ms`);
    const slots = e.server.queries;
    await slots.acquire(signal, deadline, () => new AdbError('CANCELLED', e.address, `aborted while asking for ${what}`), timedOut);
    try {
      return await new Promise<string>((resolve, reject) => {
        const smart = new SmartSocket(e.address, this.#nextId++, [request], {
          reply: {
            onReply: (payload) => {
              settle();
              resolve(payload);
            },
            onError: (err) => {
              settle();
              reject(err);
            },
          },
        });
        const onAbort = (): void => smart.abort(new AdbError('CANCELLED', e.address, `aborted while asking for ${what}`));
        const timer = setTimeout(() => smart.abort(timedOut()), Math.max(0, deadline - Date.now()));
        const settle = (): void => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          e.server.sockets.delete(smart);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        e.server.sockets.add(smart);
        openServerSocket(e.target, smart);
      });
    } finally {
      slots.release();
    }
  }

  /** What exec.ts and reboot.ts need: streams that are smart sockets through the server. */
  #execTarget(e: Entry, features: readonly string[]): ExecTarget {
    return {
      address: e.address,
      features,
      openTimeoutMs: this.#opts.openTimeoutMs,
      openStream: (service, handler) => this.#openStream(e, service, handler),
    };
  }

  #openStream(e: Entry, service: string, handler: StreamHandler): StreamHandle {
    if (this.#closed) throw new AdbError('CANCELLED', e.address, 'the pool is closed');
    const sockets = e.server.sockets;
    const smart: SmartSocket = new SmartSocket(e.address, this.#nextId++, [`host:transport:${e.target.serial}`, service], {
      stream: {
        onOpen: () => handler.onOpen(),
        onData: (data) => handler.onData(data),
        onDrain: () => handler.onDrain?.(),
        onClose: (err) => {
          sockets.delete(smart);
          handler.onClose(err);
        },
        ...(handler.onRefused === undefined
          ? {}
          : {
              onRefused: () => {
                sockets.delete(smart);
                handler.onRefused?.();
              },
            }),
      },
    });
    sockets.add(smart);
    openServerSocket(e.target, smart);
    return {
      localId: smart.localId,
      write: (data) => smart.write(data),
      get queued() {
        return smart.queued;
      },
      get unacknowledged() {
        return smart.unacknowledged;
      },
      pause: () => smart.pause(),
      resume: () => smart.resume(),
      close: () => {
        sockets.delete(smart);
        smart.close();
      },
    };
  }

  /** A call failed: if it says the device is gone, it is no longer reachable (listeners hear of it once). */
  #failed(e: Entry, err: unknown): void {
    if (!isAdbError(err) || !GONE.has(err.code)) return;
    e.features = null;
    if (!e.reachable) return;
    e.reachable = false;
    for (const l of this.#listeners) {
      try {
        l(e.address, err);
      } catch {
        // A listener's bug must not keep the others from hearing.
      }
    }
  }

  /** One more consecutive failure: calls fail with err until AdbPool's backoff has run out. */
  #backOff(e: Entry, err: AdbError): void {
    this.#connectsFailed++;
    e.failures++;
    e.lastError = err;
    e.retryAt = backoffRetryAt(e.failures, this.#opts.backoffBaseMs, this.#opts.backoffMaxMs);
  }

  /** The entry of a well-formed address; a malformed one fails the call with CONNECT_FAILED. */
  #entry(address: string): Entry {
    const known = this.#entries.get(address);
    if (known !== undefined) return known;
    if (this.#closed) throw new AdbError('CANCELLED', address, 'the pool is closed');
    const target = parseAdbServerAddress(address);
    if ('problem' in target) throw new AdbError('CONNECT_FAILED', address, `not an adb-server address: ${target.problem}`);
    const key = `${target.host}:${target.port}`;
    let server = this.#servers.get(key);
    if (server === undefined) {
      server = { streams: new Slots(this.#opts.maxSocketsPerServer), queries: new Slots(this.#opts.maxQueriesPerServer), sockets: new Set() };
      this.#servers.set(key, server);
    }
    const e: Entry = { address, target, server, features: null, reachable: false, connecting: null, failures: 0, retryAt: 0, lastError: null, lastReceivedAt: 0 };
    this.#entries.set(address, e);
    return e;
  }
}

/** opts with the time left until deadline; TIMEOUT (`<what> within <timeout> ms`) when none is. */
function timeLeft<O extends { timeoutMs?: number }>(address: string, opts: O, deadline: number, what: string): O {
  if (deadline === Infinity) return opts;
  const left = deadline - Date.now();
  if (left <= 0) throw new AdbError('TIMEOUT', address, `${what} within ${opts.timeoutMs} ms`);
  return { ...opts, timeoutMs: left };
}
