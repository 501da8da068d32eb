// The simulator's public face: a fleet of adbd-compatible simulated phones with a virtual shell,
// fault injection, an execution journal, and an HTTP control port.
export { startFleet, DEFAULT_REBOOT_DELAY_MS } from './fleet.js';
export { startControlServer } from './control-server.js';
export { parseFault, FaultError } from './faults.js';
export type { Fault, Fleet, FleetOptions, InstanceState, JournalEntry, JournalEnd, SimInstance } from './types.js';
