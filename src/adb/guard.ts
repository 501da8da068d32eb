// The pool's wait for a connection on behalf of one call: the connect goes on for the other
// callers that share it, this call alone gives up.
import { AdbError } from './errors.js';
import type { CancelSignal } from './exec.js';

/** Waits for p, but gives up on abort or at the deadline (p itself carries on). */
export function guard<T>(p: Promise<T>, address: string, signal: CancelSignal | undefined, deadline: number): Promise<T> {
  if (signal === undefined && deadline === Infinity) return p;
  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout | null = null;
    const done = (): void => {
      if (timer !== null) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = (): void => {
      done();
      reject(new AdbError('CANCELLED', address, 'aborted while connecting'));
    };
    if (signal?.aborted === true) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    if (deadline !== Infinity) {
      timer = setTimeout(() => {
        done();
        // Nothing reached the device: unreachable within the call's time, not a command that ran too long.
        reject(new AdbError('CONNECT_FAILED', address, 'no connection within the call\'s timeout'));
      }, Math.max(0, deadline - Date.now()));
    }
    p.then(
      (v) => {
        done();
        resolve(v);
      },
      (e: unknown) => {
        done();
        reject(e);
      },
    );
  });
}
