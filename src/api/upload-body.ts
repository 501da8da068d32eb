// An upload's body (POST /v1/artifacts) is the file, streamed to disk: it may take far longer than
// the server's whole-request timeout (httpRequestTimeoutMs, enforced by Node for every request)
// and still be healthy. While an upload's body is read, its socket is marked: clientErrorHandler
// then lets Node's request timeout pass (Node checks a request once, so it does not come back),
// and the upload has a timeout of its own instead: no byte for httpRequestTimeoutMs is a stall,
// answered 408 like any request that did not arrive in time.
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';

const uploading = new WeakSet<Socket>();

/** Marks the socket as carrying an upload's body until `done` is called. */
export function markUploading(socket: Socket): () => void {
  uploading.add(socket);
  return () => uploading.delete(socket);
}

/** Is an upload's body being read on this socket (Node's request timeout does not apply)? */
export function isUploading(socket: Socket): boolean {
  return uploading.has(socket);
}

/** No byte of the body arrived for the idle timeout. */
export class UploadStalledError extends Error {
  constructor(idleMs: number) {
    super(`no byte of the body arrived for ${idleMs} ms`);
    this.name = 'UploadStalledError';
  }
}

const STALLED = Symbol('stalled');

/**
 * The body's chunks, failing with UploadStalledError when the client sends nothing for `idleMs`.
 * Only the wait for the client counts (not the time the consumer takes to write a chunk to disk).
 * A stall or the consumer's failure leaves the request stream as it is, unread: the route answers
 * first, and the connection is closed after the answer.
 */
export async function* idleBounded(source: Readable, idleMs: number): AsyncGenerator<Buffer> {
  const chunks = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  for (;;) {
    const next = chunks.next();
    let timer: NodeJS.Timeout | undefined;
    const stalled = new Promise<typeof STALLED>((resolve) => {
      timer = setTimeout(resolve, idleMs, STALLED);
    });
    const step = await Promise.race([next, stalled]).finally(() => clearTimeout(timer));
    if (step === STALLED) {
      // The read still pending fails when the connection closes: nobody waits for it.
      next.catch(() => {});
      throw new UploadStalledError(idleMs);
    }
    if (step.done === true) return;
    yield step.value;
  }
}
