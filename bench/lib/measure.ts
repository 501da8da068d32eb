// What the benchmarks measure with: per-process CPU from /proc, and percentiles.
import { readFileSync } from 'node:fs';

/** USER_HZ is 100 on Linux: /proc counts CPU time in 10 ms ticks. */
const TICK_MS = 1000 / 100;

/** utime+stime of a process, or of its reaped children, in ms (from /proc/<pid>/stat). */
export function cpuMs(pid: number | 'self', children = false): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14, stime 15, cutime 16, cstime 17
  const [u, s] = children ? [fields[13], fields[14]] : [fields[11], fields[12]];
  return (Number(u) + Number(s)) * TICK_MS;
}

/** Resident memory of a process, in KiB (VmRSS from /proc/<pid>/status). */
export function rssKiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (m === null) throw new Error(`no VmRSS for process ${pid}`);
  return Number(m[1]);
}

/** The p-th percentile of an ascending array. */
export function pct(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}
