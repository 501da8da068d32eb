// SPEC §6: an instance's status, as the health monitor finds it and the API reports it.
export const InstanceStatus = { Unknown: 0, Stopped: 1, Running: 2, Offline: 3, Starting: 4, ShutDown: 5 } as const;
export type InstanceStatus = (typeof InstanceStatus)[keyof typeof InstanceStatus];
