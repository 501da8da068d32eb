// A Server-Sent Events reader for the tests: opens a stream over a real socket and collects its
// events (and heartbeat comments) until it ends or `stop` says so, or follows them as they come.
import { request, type IncomingMessage } from 'node:http';

export interface SseEvent {
  event: string;
  data: string;
}

export function openSse(url: string, headers: Record<string, string>): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, resolve);
    req.on('error', reject);
    req.end();
  });
}

/** Feeds each complete event or comment of the stream to `block` as it arrives. */
function readBlocks(res: IncomingMessage, block: (event: SseEvent | null) => void): void {
  let buf = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    buf += chunk;
    let i: number;
    while (!res.destroyed && (i = buf.indexOf('\n\n')) >= 0) {
      const text = buf.slice(0, i);
      buf = buf.slice(i + 2);
      block(text.startsWith(':') ? null : { event: /^event: (.*)$/m.exec(text)?.[1] ?? 'message', data: /^data: (.*)$/m.exec(text)?.[1] ?? '' });
    }
  });
}

export function collectSse(
  res: IncomingMessage,
  stop?: (events: SseEvent[], comments: number) => boolean,
): Promise<{ events: SseEvent[]; comments: number }> {
  return new Promise((resolve, reject) => {
    const events: SseEvent[] = [];
    let comments = 0;
    readBlocks(res, (e) => {
      if (e === null) comments += 1;
      else events.push(e);
      if (stop?.(events, comments)) {
        res.destroy();
        resolve({ events, comments });
      }
    });
    res.on('end', () => resolve({ events, comments }));
    res.on('error', reject);
  });
}

/** A stream read as it goes: `events` grows as they arrive, `ended` settles when the server ends it. */
export function followSse(res: IncomingMessage): { events: SseEvent[]; comments: () => number; ended: Promise<void> } {
  const events: SseEvent[] = [];
  let comments = 0;
  readBlocks(res, (e) => {
    if (e === null) comments += 1;
    else events.push(e);
  });
  const ended = new Promise<void>((resolve, reject) => {
    res.on('end', resolve);
    res.on('error', reject);
  });
  return { events, comments: () => comments, ended };
}
