// A Server-Sent Events reader for the tests: opens a stream over a real socket and collects its
// events (and heartbeat comments) until it ends or `stop` says so.
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

export function collectSse(
  res: IncomingMessage,
  stop?: (events: SseEvent[], comments: number) => boolean,
): Promise<{ events: SseEvent[]; comments: number }> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const events: SseEvent[] = [];
    let comments = 0;
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buf += chunk;
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (block.startsWith(':')) comments += 1;
        else events.push({ event: /^event: (.*)$/m.exec(block)?.[1] ?? 'message', data: /^data: (.*)$/m.exec(block)?.[1] ?? '' });
        if (stop?.(events, comments)) {
          res.destroy();
          resolve({ events, comments });
          return;
        }
      }
    });
    res.on('end', () => resolve({ events, comments }));
    res.on('error', reject);
  });
}
