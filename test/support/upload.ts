// An upload over a real socket (POST /v1/artifacts): the body written chunk by chunk as the
// source yields it, with backpressure, so a test can send 64 MiB without holding it, trickle it,
// or stall; an answer that comes before the body is all sent (a 413) ends the writing.
import { request as httpRequest, type ClientRequest, type IncomingHttpHeaders } from 'node:http';

export interface UploadAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  // JSON bodies of the API are free-form here; tests assert on their fields.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

export function upload(
  url: string,
  headers: Record<string, string>,
  body: Buffer | AsyncIterable<Buffer>,
  path = '/v1/artifacts',
): Promise<UploadAnswer> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = httpRequest(`${url}${path}`, { method: 'POST', headers }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // not JSON: kept as text
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
      });
      res.on('error', reject);
    });
    // Writing into a connection the server closed after answering fails: the answer is what counts.
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    if (Buffer.isBuffer(body)) {
      req.end(body);
      return;
    }
    void (async () => {
      for await (const chunk of body) {
        if (answered || req.destroyed) return;
        if (!req.write(chunk)) await drained(req);
      }
      req.end();
    })().catch((err: unknown) => req.destroy(err as Error));
  });
}

function drained(req: ClientRequest): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      req.off('drain', done);
      req.off('close', done);
      resolve();
    };
    req.on('drain', done);
    req.on('close', done);
  });
}
