// SPEC §6's names of the instance statuses, as the CLI's tables and the metrics' labels show them.
import { InstanceStatus } from '../core/index.js';

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
