// The worker side's faces: the dispatcher (runs jobs) and the health monitor (instance status).
// The API does not talk to the dispatcher: both meet in the store (its queue and change feed).
import type { InstanceStatus } from '../core/index.js';
import type { InstanceTarget } from '../store/index.js';

export interface Dispatcher {
  /** Marks jobs a previous worker left running as interrupted (1006), then takes queued jobs
   * from the store, oldest first, and keeps taking them as the store commits more. */
  start(): Promise<void>;
  /** Stops taking jobs, lets running ones finish (up to graceMs), then interrupts the rest
   * (1006) and flushes results. */
  stop(graceMs: number): Promise<void>;
  /** Queued jobs held in memory (queued or starting): bounded by the dispatcher's windows,
   * whatever the backlog in the store. */
  readonly held: number;
  /** Jobs starting or running now. */
  readonly active: number;
}

export interface HealthMonitor {
  /** Current status of a registered instance (0 when never checked). */
  status(instanceId: string): InstanceStatus;
  /** How many registered instances have each status, indexed by status (SPEC §6: 0 to 5). */
  statusCounts(): number[];
  /** Reboots through ADB's reboot: service; the instance shows 4 (starting) until adbd answers again. */
  reboot(target: InstanceTarget): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}
