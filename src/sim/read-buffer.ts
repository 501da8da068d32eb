// Accepted sockets that read into one buffer the whole simulator shares, instead of a fresh 64 KiB
// Buffer per read: a pushed file arrives in reads of up to READ_BUFFER_SIZE (fewer syscalls) and
// leaves no garbage per read. Read callbacks run one at a time, so one buffer serves every
// connection; what must outlive a callback is copied by whoever keeps it (storage.ts).
//
// node:net offers `onread` only to sockets it connects: an accepted socket's handle is moved into
// a new Socket made with it. That reaches into `_handle`, which node:net's own server and
// `net.Socket({ handle })` use but do not document; without it (another runtime) the accepted
// socket is used as it is, reading through 'data'.
import net from 'node:net';

export const READ_BUFFER_SIZE = 1024 * 1024;
const READ_BUFFER = Buffer.allocUnsafe(READ_BUFFER_SIZE);

/** The parts of a Socket's internals the move touches. */
interface HandleHolder {
  _handle: object | null | undefined;
}

/**
 * Starts reading an accepted socket (its server made with `pauseOnConnect`), handing each read to
 * receive as a view into the shared buffer, valid only during the call. Returns the socket to use
 * from now on (writes, close, events): not the accepted one when its handle was moved.
 */
export function readIntoSharedBuffer(accepted: net.Socket, receive: (chunk: Buffer) => void): net.Socket {
  const holder = accepted as unknown as HandleHolder;
  const handle = holder._handle;
  if (handle === null || handle === undefined || accepted.destroyed) {
    accepted.on('data', receive);
    accepted.resume();
    return accepted;
  }
  // Detached first, so destroying the accepted socket closes nothing and only releases its count
  // in the server (which server.close waits on).
  holder._handle = null;
  accepted.destroy();
  const onread: net.OnReadOpts = {
    buffer: READ_BUFFER,
    callback: (n) => {
      receive(READ_BUFFER.subarray(0, n));
      return true;
    },
  };
  // `handle` and `onread` are not in SocketConstructorOpts' types; node:net reads both (above).
  return new net.Socket({ handle, onread, readable: true, writable: true } as net.SocketConstructorOpts);
}
