// Whether a push reads, and a pull writes, its local file in place (a blocking call on the event
// loop) or through the thread pool. In place, a pull writes each piece straight from the socket's
// read buffer to the page cache: no copy into write buffers, no hand-off to a pool thread and back.
// Measured on 64 MiB pulls (2 cores): 1,450-1,580 MiB/s and 0.60-0.64 ms of CPU per MiB in place,
// 940-1,300 MiB/s and 0.74-1.04 ms through the pool.
//
// A page-cache copy of a MiB takes a fraction of a millisecond; a call that takes longer met a
// disk that makes writers wait (dirty-page throttling, a network mount) or a read that missed the
// cache. The event loop must not wait on disks (leases are renewed and jobs dispatched there), so
// after one slow call every transfer of the process goes through the pool for a while.

/** a call slower than this sends the process's file I/O to the thread pool */
export const SLOW_CALL_MS = 5;
/** for this long after a slow call */
export const OFFLOAD_MS = 10_000;

let offloadedUntil = 0;
let callsInPlace = 0;

/** Whether file I/O may be done in place now. */
export function inPlace(): boolean {
  return offloadedUntil === 0 || performance.now() >= offloadedUntil;
}

/** Runs one blocking file call, timing it: a slow one offloads the process's file I/O. */
export function timedCall<T>(call: () => T): T {
  const t0 = performance.now();
  callsInPlace++;
  try {
    return call();
  } finally {
    const t1 = performance.now();
    if (t1 - t0 > SLOW_CALL_MS) offloadedUntil = t1 + OFFLOAD_MS;
  }
}

/** Sends file I/O through the thread pool for `ms` from now (0: in place again). Also for tests of both paths. */
export function offloadFor(ms: number): void {
  offloadedUntil = ms <= 0 ? 0 : performance.now() + ms;
}

/** How many file calls ran in place since the process started: tests see which path a transfer took. */
export function inPlaceCalls(): number {
  return callsInPlace;
}
