// CPU per role over a measured window: each process's utime+stime from /proc (measure.ts), the
// PostgreSQL server's as the cluster's processes' sum (pg-cluster.ts), summed by role.
import { cpus } from 'node:os';
import type { Deployment } from './deployment.js';
import { cpuMs } from './measure.js';
import type { PgCluster } from './pg-cluster.js';

/** service (SQLite's one process), apiNodes, workers, simulator, postgres, loadClient (this process) */
export type CpuRole = 'service' | 'apiNodes' | 'workers' | 'simulator' | 'postgres' | 'loadClient';

export type CpuByRole = Partial<Record<CpuRole, number>>;

export interface CpuSource {
  role: CpuRole;
  ms(): number;
}

export const ROLE_NAMES: Record<CpuRole, string> = {
  service: 'service',
  apiNodes: 'API nodes',
  workers: 'workers',
  simulator: 'simulator',
  postgres: 'PostgreSQL server',
  loadClient: 'load client',
};

/** The deployment's processes (read when called: API nodes may have been restarted), the cluster's, and this one. */
export function cpuSources(d: Deployment, extra: { cluster?: PgCluster | undefined; simulatorPid?: number | undefined } = {}): CpuSource[] {
  const out: CpuSource[] = d.procs().map((p) => {
    const pid = p.child.proc.pid!;
    return { role: p.role === 'api' ? 'apiNodes' : p.role === 'worker' ? 'workers' : 'service', ms: () => cpuMs(pid) };
  });
  if (extra.simulatorPid !== undefined) {
    const pid = extra.simulatorPid;
    out.push({ role: 'simulator', ms: () => cpuMs(pid) });
  }
  if (extra.cluster !== undefined) out.push({ role: 'postgres', ms: extra.cluster.cpuMs });
  out.push({ role: 'loadClient', ms: () => cpuMs('self') });
  return out;
}

/** Starts counting now; the returned function gives the CPU ms spent since, by role. */
export function cpuCounter(sources: readonly CpuSource[]): () => CpuByRole {
  const before = sources.map((s) => s.ms());
  return () => {
    const out: CpuByRole = {};
    sources.forEach((s, i) => {
      out[s.role] = (out[s.role] ?? 0) + s.ms() - before[i]!;
    });
    return out;
  };
}

/** Each role's CPU divided by n (per request, per job). */
export function perUnit(cpu: CpuByRole, n: number): CpuByRole {
  const out: CpuByRole = {};
  for (const [role, ms] of Object.entries(cpu) as Array<[CpuRole, number]>) out[role] = ms / n;
  return out;
}

export function totalMs(cpu: CpuByRole): number {
  return Object.values(cpu).reduce((a, b) => a + b, 0);
}

/** What the machine allows per second, every core busy with these processes only: cores / the CPU
 * per unit, summed over roles. */
export function machineAllows(perUnitMs: CpuByRole): number {
  return (cpus().length * 1000) / totalMs(perUnitMs);
}
