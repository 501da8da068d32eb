// A process's resident memory, sampled from /proc/<pid>/status (VmRSS) on a timer: its peak over
// a stretch and its last value.
import { rssKiB } from './measure.js';

export interface RssSampler {
  /** MiB now (a fresh read) */
  now(): number;
  /** the highest sample since start() or the last reset() */
  peak(): number;
  reset(): void;
  stop(): void;
}

/** VmRSS of a process in MiB (NaN once it is gone). */
function rssMiB(pid: number): number {
  try {
    return rssKiB(pid) / 1024;
  } catch {
    return NaN;
  }
}

export function sampleRss(pid: number, everyMs = 250): RssSampler {
  let peak = rssMiB(pid);
  const timer = setInterval(() => {
    const v = rssMiB(pid);
    if (v > peak) peak = v;
  }, everyMs);
  timer.unref();
  return {
    now: () => {
      const v = rssMiB(pid);
      if (v > peak) peak = v;
      return v;
    },
    peak: () => peak,
    reset: () => {
      peak = rssMiB(pid);
    },
    stop: () => clearInterval(timer),
  };
}
