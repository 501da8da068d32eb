// bench:api's load: POST async-command with the same body from `connections` keep-alive
// connections, spread over the API nodes (connection i posts to node i mod N), each connection
// posting again as soon as its answer has come.
import { Agent, request as httpRequest } from 'node:http';
import { randomUUID } from 'node:crypto';

export interface Load {
  latencies: number[];
  /** requests completed in each whole second from the start */
  perSecond: number[];
  seconds: number;
}

export interface SubmitLoad {
  /** one request, on connection `i`'s node: its latency in ms */
  post(i: number): Promise<number>;
  /** posts from every connection while more() says so */
  load(more: () => boolean): Promise<Load>;
  /** jobs submitted so far (each request's instances) */
  queuedJobs(): number;
  close(): void;
}

export function submitLoad(o: { urls: () => readonly string[]; token: string; instanceIds: readonly string[]; connections: number }): SubmitLoad {
  const body = JSON.stringify({ command: 'echo hello', instance_ids: o.instanceIds });
  const agent = new Agent({ keepAlive: true, maxSockets: o.connections });
  let queued = 0;
  const post = (i: number): Promise<number> =>
    new Promise((resolve, reject) => {
      const urls = o.urls();
      const url = new URL('/v1/instances/async-command', urls[i % urls.length]);
      const t0 = performance.now();
      const req = httpRequest(
        url,
        {
          method: 'POST',
          agent,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            'x-auth-token': o.token,
            'x-request-id': randomUUID(),
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode !== 200) {
              reject(new Error(`POST async-command to ${url.host}: HTTP ${res.statusCode}`));
              return;
            }
            queued += o.instanceIds.length;
            resolve(performance.now() - t0);
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const load = async (more: () => boolean): Promise<Load> => {
    const out: Load = { latencies: [], perSecond: [], seconds: 0 };
    const start = performance.now();
    await Promise.all(
      Array.from({ length: o.connections }, async (_, i) => {
        while (more()) {
          out.latencies.push(await post(i));
          const s = Math.floor((performance.now() - start) / 1000);
          out.perSecond[s] = (out.perSecond[s] ?? 0) + 1;
        }
      }),
    );
    out.seconds = (performance.now() - start) / 1000;
    out.perSecond = Array.from(out.perSecond, (v) => v ?? 0);
    out.latencies.sort((a, b) => a - b);
    return out;
  };
  return { post, load, queuedJobs: () => queued, close: () => agent.destroy() };
}

/** Mean requests/s over the first and the last n whole seconds (the last, partial one left out). */
export function firstLast(perSecond: readonly number[], n = 3): [number, number] {
  const whole = perSecond.slice(0, -1);
  const mean = (xs: readonly number[]): number => (xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length);
  return [mean(whole.slice(0, n)), mean(whole.slice(-n))];
}
