// `reboot:` (SERVICES.TXT): adbd acknowledges and restarts the device, which ends the
// connection, so the stream or the whole connection closing is the success signal.

import { AdbError } from './errors.js';
import type { StreamHandle } from './stream.js';
import type { ExecTarget } from './exec.js';

export function rebootOn(target: ExecTarget, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let stream: StreamHandle | null = null;
    const timer = setTimeout(() => {
      stream?.close();
      reject(new AdbError('TIMEOUT', target.address, `reboot: not acknowledged within ${timeoutMs} ms`));
    }, timeoutMs);
    try {
      stream = target.openStream('reboot:', {
        onOpen() {},
        onData() {},
        onClose(err) {
          clearTimeout(timer);
          // CONNECTION_LOST is the device going down: that is the reboot happening.
          if (err === null || err.code === 'CONNECTION_LOST') resolve();
          else reject(err);
        },
      });
    } catch (e) {
      clearTimeout(timer);
      reject(e);
    }
  });
}
