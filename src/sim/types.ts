// The simulator's public data types: what tests, the CLI and the control port see.
import type { KeyObject } from 'node:crypto';

/** One injected misbehaviour of an instance (src/sim/README.md says what each one models). */
export type Fault =
  | { kind: 'latency'; ms: number }
  | { kind: 'hang' }
  | { kind: 'drop'; afterBytes: number }
  | { kind: 'refuse' }
  | { kind: 'auth-reject' }
  | { kind: 'garbage' }
  | { kind: 'bad-shell-packet'; id: number; length: number }
  | { kind: 'offline'; ms: number }
  | { kind: 'transfer-fail'; afterBytes: number }
  | { kind: 'transfer-drop'; afterBytes: number };

/** online: answers; rebooting / offline: refuses connections until its timer brings it back. */
export type InstanceState = 'online' | 'rebooting' | 'offline';

/**
 * How a journaled command ended: `exit` (ran to completion, exitCode set), `closed` (the host
 * closed the stream first: the command was hung up on), `disconnected` (the connection went away:
 * host, drop fault, offline), `reboot` (the instance rebooted under it), `running` (not yet).
 */
export type JournalEnd = 'running' | 'exit' | 'closed' | 'disconnected' | 'reboot';

export interface JournalEntry {
  /** Fleet-wide order of starts, from 1. */
  seq: number;
  serial: string;
  /** The command line as the host sent it (empty for an interactive shell). */
  command: string;
  /** The service name as opened, without its argument: `shell`, `shell,v2,raw`, `exec`, `reboot`. */
  service: string;
  /** The host's local-id of the stream (arg0 of its OPEN). */
  streamId: number;
  /** Which TCP connection of the instance, from 1, so stream ids can be told apart. */
  connectionId: number;
  /** Epoch milliseconds. */
  startedAt: number;
  endedAt: number | null;
  exitCode: number | null;
  end: JournalEnd;
}

export interface FleetOptions {
  count: number;
  host?: string;
  /** First port; instance i listens on basePort + i. 0 or absent: each gets an ephemeral port. */
  basePort?: number;
  auth?: 'none' | 'rsa';
  /** How long `reboot` keeps an instance away. Default 1000 ms. */
  rebootDelayMs?: number;
  /** Public keys every instance trusts from the start (adbd's adb_keys). */
  trustedKeys?: KeyObject[];
  /**
   * Banner features. Default ['shell_v2', 'cmd', 'delayed_ack']; without shell_v2 hosts fall back to
   * shell v1, without delayed_ack to one WRTE per stream in flight.
   */
  features?: string[];
  /**
   * What pushed files may hold per instance, in bytes (default 256 MiB). They are held in the
   * simulator's memory; past the limit a push fails with "No space left on device".
   */
  storageBytes?: number;
}

export interface SimInstance {
  readonly serial: string;
  readonly host: string;
  readonly port: number;
  /** `host:port` (IPv6 hosts in brackets). */
  readonly address: string;
  readonly state: InstanceState;
  readonly fault: Fault | null;
  /** null clears. Faults apply from the next packet on; `offline` acts at once. */
  setFault(f: Fault | null): void;
  journal(): JournalEntry[];
}

export interface Fleet {
  readonly instances: SimInstance[];
  instance(serial: string): SimInstance | undefined;
  journal(): JournalEntry[];
  clearJournal(): void;
  close(): Promise<void>;
}
