// Words for the service's numbers and states (SPEC §4 and §6).
const INSTANCE_STATUS: Readonly<Record<number, string>> = {
  0: 'unknown',
  1: 'stopped',
  2: 'running',
  3: 'offline',
  4: 'starting',
  5: 'shut down',
};

export function instanceStatus(status: number): string {
  return INSTANCE_STATUS[status] ?? `status ${status}`;
}

export const FINAL_STATES: ReadonlySet<string> = new Set(['succeeded', 'failed', 'timed_out', 'cancelled']);

export function stateLabel(state: string): string {
  return state.replace('_', ' ');
}

/** "3 succeeded, 1 running": each state counted above 0, in the order given. */
export function stateCounts(counts: Iterable<readonly [string, number]>): string {
  return [...counts]
    .filter(([, n]) => n > 0)
    .map(([state, n]) => `${n} ${stateLabel(state)}`)
    .join(', ');
}

/** "12:04:05" today, the date as well otherwise; "" for null. */
export function time(iso: string | null): string {
  if (iso === null) return '';
  const d = new Date(iso);
  const sameDay = d.toDateString() === new Date().toDateString();
  return sameDay ? d.toLocaleTimeString() : d.toLocaleString();
}

/** Seconds between two timestamps, one decimal; "" until both are known. */
export function duration(from: string | null, to: string | null): string {
  if (from === null || to === null) return '';
  return `${((Date.parse(to) - Date.parse(from)) / 1000).toFixed(1)} s`;
}
