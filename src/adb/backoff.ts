// The reconnect backoff both pools apply after failed connects (AdbPool.nextAttemptAt tells the
// policy): one rule, so a device waits the same whichever path reaches it.

/**
 * When the next attempt may be made after `failures` consecutive failures (1 or more), in epoch
 * ms: the ceiling is baseMs doubled per failure up to maxMs, the wait drawn from
 * [ceiling/2, ceiling] (jitter, so a fleet that went down together does not reconnect in lockstep).
 */
export function backoffRetryAt(failures: number, baseMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(failures - 1, 30));
  return Math.ceil(Date.now() + ceiling / 2 + Math.random() * (ceiling / 2));
}
