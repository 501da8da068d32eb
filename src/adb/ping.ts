// A liveness probe on an established connection: OPEN a service and wait for the device's
// answer. adbd answers OKAY for `sync:` (file sync, SYNC.TXT) and CLSE for a service it lacks
// (the simulator refuses it); either means adbd is answering. Nothing runs on the device: the
// stream is closed at once. A fleet's monitor sends hundreds of these a second, so the refusal
// takes the stream's onRefused path, which builds no Error.

import { AdbError } from './errors.js';
import type { StreamHandle } from './stream.js';
import type { ExecTarget } from './exec.js';

export function pingOn(target: ExecTarget, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let stream: StreamHandle | null = null;
    let settled = false;
    const settle = (err: AdbError | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err === null) resolve();
      else reject(err);
    };
    const timer = setTimeout(() => {
      stream?.close();
      settle(new AdbError('TIMEOUT', target.address, `no answer to OPEN within ${timeoutMs} ms`));
    }, timeoutMs);
    try {
      stream = target.openStream('sync:', {
        onOpen() {
          stream?.close();
          settle(null);
        },
        onData() {},
        onRefused() {
          settle(null);
        },
        onClose(err) {
          // A lost connection is not an answer.
          settle(err);
        },
      });
    } catch (e) {
      settle(e instanceof AdbError ? e : new AdbError('CONNECTION_LOST', target.address, String(e)));
    }
  });
}
