// Server-Sent Events read from a fetch body (Node 20 and browsers both stream it): the events of
// SPEC §7's task stream, `event:` and `data:` lines ended by a blank line, `:` lines are comments.

export interface SseEvent {
  event: string;
  data: string;
}

/** What one read of the body gives (the DOM's ReadableStreamReadResult, which Node's types lack). */
type ReadableStreamReadResult = Awaited<ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']>>;

/** No byte for this long on a stream whose server sends a heartbeat: the stream is dead, though no
 * FIN came (a NAT or proxy dropped it silently). */
export class SseIdleError extends Error {
  constructor(readonly idleMs: number) {
    super(`no data for ${idleMs / 1000} s on the event stream (its heartbeat stopped): the connection is lost`);
    this.name = 'SseIdleError';
  }
}

/** Reads events; with idleMs > 0, throws SseIdleError when no byte (an event or a heartbeat
 * comment) arrives for that long. */
export async function* readSse(body: ReadableStream<Uint8Array>, idleMs = 0): AsyncGenerator<SseEvent, void> {
  const reader = body.getReader();
  const read = (): Promise<ReadableStreamReadResult> => (idleMs > 0 ? readWithin(reader, idleMs) : reader.read());
  const decoder = new TextDecoder();
  let buffer = '';
  let event = '';
  let data: string[] = [];
  try {
    while (true) {
      const { done, value } = await read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).replace(/\r$/, '');
        buffer = buffer.slice(nl + 1);
        if (line === '') {
          if (data.length > 0 || event !== '') yield { event: event || 'message', data: data.join('\n') };
          event = '';
          data = [];
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const name = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (name === 'event') event = value;
        else if (name === 'data') data.push(value);
      }
    }
  } finally {
    // The caller stopped early (break, abort): let go of the connection.
    await reader.cancel().catch(() => {});
  }
}

/** One read, or SseIdleError past idleMs (the read left pending is ended by the reader's cancel). */
function readWithin(reader: ReadableStreamDefaultReader<Uint8Array>, idleMs: number): Promise<ReadableStreamReadResult> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const idle = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SseIdleError(idleMs)), idleMs);
  });
  return Promise.race([reader.read(), idle]).finally(() => clearTimeout(timer));
}
