// 1 MiB buffers that transfers are done with, for the next ones: a push's payload buffers (once
// the device answered its DONE), a pull's written write buffers. Left to the GC they were garbage
// that V8 collects only once tens of MiB of it piled up (their memory is off its heap), and the
// process kept the pages: ten 64 MiB pushes at once, five times over, grew the service by ~30 MiB
// more than the first time, and ten pulls through the thread pool reached 300 MiB.

/** the one size kept: a WRTE's largest payload, and a pull's write buffer */
export const TRANSFER_BUFFER = 1024 * 1024;
/** at most this many are kept (16 MiB) */
const MAX_KEPT = 16;
const kept: Buffer[] = [];

/** A buffer of `size` bytes: a kept one when the size is TRANSFER_BUFFER. */
export function takeBuffer(size: number): Buffer {
  return (size === TRANSFER_BUFFER ? kept.pop() : undefined) ?? Buffer.allocUnsafe(size);
}

/**
 * Gives back a buffer nothing refers to any more, or a view of its start (a pull's last, partly
 * filled one). Anything else (another size, a view further in) is left to the GC.
 */
export function keepBuffer(view: Buffer): void {
  if (kept.length >= MAX_KEPT || view.byteOffset !== 0 || view.buffer.byteLength !== TRANSFER_BUFFER) return;
  kept.push(view.length === TRANSFER_BUFFER ? view : Buffer.from(view.buffer, 0, TRANSFER_BUFFER));
}
