// A file of the artifact directory as an HTTP answer: its length, its type, `Accept-Ranges:
// bytes` and one byte range when asked (RFC 9110 §14: 206 with Content-Range; a range past the
// end 416 with `Content-Range: bytes */size`; a Range the server does not serve, several ranges or
// a malformed one, is ignored and the whole file sent). The sha256 is the ETag (the bytes never
// change under it), which If-Range compares. HEAD answers the same headers without opening the file.
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { BlobStore } from '../artifacts/index.js';
import { ApiError } from '../core/index.js';

export interface BlobFile {
  sha256: string;
  size: number;
  contentType: string;
}

/** The bytes asked for, inclusive; 'unsatisfiable'; or null for the whole file. */
export type ByteRange = { start: number; end: number } | 'unsatisfiable' | null;

const SINGLE = /^bytes=(\d*)-(\d*)$/i;

export function parseRange(header: string | undefined, size: number): ByteRange {
  if (header === undefined) return null;
  const m = SINGLE.exec(header.trim());
  if (m === null) return null;
  const [first = '', last = ''] = [m[1], m[2]];
  if (first === '') {
    // A suffix: the last N bytes.
    if (last === '') return null;
    const n = Number(last);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(first);
  // first-last with last before first is malformed (ignored); a first past the end is not.
  if (last !== '' && Number(last) < start) return null;
  if (start >= size) return 'unsatisfiable';
  return { start, end: last === '' ? size - 1 : Math.min(Number(last), size - 1) };
}

/** Answers with the file (or the range of it the request asks for). A file the directory lost is
 * an internal error: a row names it, so the directory is not the one the rows were written with. */
export async function sendBlob(request: FastifyRequest, reply: FastifyReply, blobs: BlobStore, file: BlobFile): Promise<FastifyReply> {
  const etag = `"${file.sha256}"`;
  const ifRange = request.headers['if-range'];
  const range = ifRange === undefined || ifRange === etag ? parseRange(request.headers.range, file.size) : null;
  void reply.header('accept-ranges', 'bytes').header('etag', etag);
  if (range === 'unsatisfiable') {
    throw new ApiError('RANGE_NOT_SATISFIABLE', { size: file.size }, { 'content-range': `bytes */${file.size}`, 'accept-ranges': 'bytes' });
  }
  const { start, end } = range ?? { start: 0, end: file.size - 1 };
  const length = end - start + 1;
  // Opened before any header is set: a failure is then answered as the error it is.
  const body = request.method === 'HEAD' || length === 0 ? Readable.from([]) : await openRange(blobs, file.sha256, start, end);
  void reply.type(file.contentType).header('content-length', String(length));
  if (range !== null) void reply.code(206).header('content-range', `bytes ${start}-${end}/${file.size}`);
  return reply.send(body);
}

async function openRange(blobs: BlobStore, sha256: string, start: number, end: number): Promise<Readable> {
  const path = blobs.pathOf(sha256);
  try {
    const handle = await open(path, 'r');
    return handle.createReadStream({ start, end, highWaterMark: 256 * 1024 });
  } catch (err) {
    throw new Error(`artifact file ${path} cannot be opened (is ADBFLEET_ARTIFACT_DIR the directory every process shares?)`, { cause: err });
  }
}
