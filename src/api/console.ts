// The web console (SPEC §12) at /console: the files `npm run build` writes to dist/console. Vite's
// hashed assets are cached for a year, index.html is revalidated every time (so a new build is seen
// at once), and a Content-Security-Policy lets the page load only its own files and talk only to
// this service. Paths under /console that name no file get index.html: the console routes in the
// browser, so a deep link (/console/tasks/...) must load it.
import { readFile, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
// For FastifySchema's `hide`, which keeps these routes out of the OpenAPI document.
import type {} from '@fastify/swagger';
import { ApiError } from '../core/index.js';

/** dist/console: this file is two folders below the package root both as src/api/console.ts (tsx)
 * and as dist/api/console.js (compiled). */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../../dist/console/', import.meta.url));

/** Vite writes content-hashed names under assets/: a changed file gets a new name. */
const ASSETS = 'assets/';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function send(reply: FastifyReply, path: string, cache: string): Promise<FastifyReply> {
  const body = await readFile(path);
  return reply
    .header('content-type', CONTENT_TYPES[extname(path)] ?? 'application/octet-stream')
    .header('cache-control', cache)
    .header('content-security-policy', CONTENT_SECURITY_POLICY)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .send(body);
}

/** GET /console and /console/* (HEAD too), hidden from the OpenAPI document. */
export async function consoleRoutes(app: FastifyInstance, dir: string = DEFAULT_CONSOLE_DIR): Promise<void> {
  const root = resolve(dir);
  const index = join(root, 'index.html');

  const serve = async (request: FastifyRequest, reply: FastifyReply, rel: string): Promise<FastifyReply> => {
    // Checked per request: a build made while the service runs is served without a restart.
    if (!(await isFile(index))) throw new ApiError('CONSOLE_NOT_BUILT');
    const file = resolve(root, rel);
    const notFound = (): ApiError => new ApiError('NO_SUCH_ROUTE', { method: request.method, path: request.url });
    if (file !== root && !file.startsWith(root + sep)) throw notFound();
    if (file !== index && (await isFile(file))) {
      return send(reply, file, rel.startsWith(ASSETS) ? 'public, max-age=31536000, immutable' : 'no-cache');
    }
    // A missing asset is a 404: answering HTML where a script or stylesheet was asked for hides the fault.
    if (rel.startsWith(ASSETS)) throw notFound();
    return send(reply, index, 'no-cache');
  };

  const hidden = { schema: { hide: true } };
  app.get('/console', hidden, (request, reply) => serve(request, reply, ''));
  app.get<{ Params: { '*': string } }>('/console/*', hidden, (request, reply) => serve(request, reply, request.params['*']));
}
