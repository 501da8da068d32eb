// A liveness probe on an established connection: OPEN a service and wait for the device's
// answer. adbd answers OKAY for `sync:` (file sync, SYNC.TXT) and CLSE for a service it lacks;
// either means adbd is answering. Nothing runs on the device: the stream is closed at once.

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
        onClose(err) {
          // A refused OPEN is an answer too; a lost connection is not.
          settle(err === null || err.code === 'PROTOCOL_ERROR' ? null : err);
        },
      });
    } catch (e) {
      settle(e instanceof AdbError ? e : new AdbError('CONNECTION_LOST', target.address, String(e)));
    }
  });
}
