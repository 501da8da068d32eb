// What the API layer sees of the worker side. The in-process implementation lives in this folder;
// with PostgreSQL and separate worker processes the same calls go through the store and NOTIFY.
import type { JobState } from '../core/index.js';
import type { CreatedTask, InstanceTarget, JobView } from '../store/index.js';

/** One job state change, as Server-Sent Events and sync-command see it. */
export interface JobEvent {
  tenantKey: number;
  taskKey: number;
  taskId: string;
  jobKey: number;
  jobId: string;
  instanceId: string;
  state: JobState;
  /** the job as GET /tasks/{id} would show it after this change */
  job: JobView;
}

export interface Dispatcher {
  /** Called after createTask committed: the jobs join their instances' FIFO queues at once. */
  submitted(task: CreatedTask, tenantKey: number): void;
  /** After store.cancelTask: stop the given running jobs (their ADB streams are closed, they end 1004). */
  cancelRunning(jobKeys: readonly number[]): void;
  /** After store.cancelTask: its cancelledQueued jobs leave this worker's queues at once, with
   * their cancelled events. Optional to call: waitForTask and markRunning catch them too. */
  cancelQueued(jobKeys: readonly number[]): void;
  /** Resolves when every job of the task is final (results stored), or at the deadline. */
  waitForTask(taskKey: number, deadline: number): Promise<void>;
  /** Job state changes, for SSE. The listener must not throw. Returns an unsubscribe function. */
  onJobEvent(taskKey: number, listener: (e: JobEvent) => void): () => void;
  start(): Promise<void>;
  /** Stops claiming, lets running jobs finish (up to graceMs), flushes results. */
  stop(graceMs?: number): Promise<void>;
}

/** SPEC §6 instance status numbers. */
export const InstanceStatus = { Unknown: 0, Stopped: 1, Running: 2, Offline: 3, Starting: 4, ShutDown: 5 } as const;
export type InstanceStatus = (typeof InstanceStatus)[keyof typeof InstanceStatus];

export interface HealthMonitor {
  /** Current status of a registered instance (0 when never checked). */
  status(instanceId: string): InstanceStatus;
  /** Reboots through ADB's reboot: service; the instance shows 4 (starting) until adbd answers again. */
  reboot(target: InstanceTarget): Promise<void>;
  /** Re-reads the registered instances (after admin changes). */
  refresh(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}
