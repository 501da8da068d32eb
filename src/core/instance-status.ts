// SPEC §6: an instance's status, as the health monitor finds it and the API reports it.
export const InstanceStatus = { Unknown: 0, Stopped: 1, Running: 2, Offline: 3, Starting: 4, ShutDown: 5 } as const;
export type InstanceStatus = (typeof InstanceStatus)[keyof typeof InstanceStatus];

/** The statuses' names, as the CLI's tables and the metrics' labels show them. */
export const STATUS_NAMES: Readonly<Record<InstanceStatus, string>> = {
  [InstanceStatus.Unknown]: 'unknown',
  [InstanceStatus.Stopped]: 'stopped',
  [InstanceStatus.Running]: 'running',
  [InstanceStatus.Offline]: 'offline',
  [InstanceStatus.Starting]: 'starting',
  [InstanceStatus.ShutDown]: 'shut_down',
};

/** The name of a status as the API reports it (a number); one this release does not know, as the number. */
export function statusName(status: number): string {
  return (STATUS_NAMES as Readonly<Record<number, string | undefined>>)[status] ?? String(status);
}
