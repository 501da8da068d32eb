// Requests Node's HTTP parser rejects before Fastify sees them (a control character in a header,
// headers over the size limit, a malformed request line): still answered in SPEC's envelope, with
// an x-request-id, instead of Fastify's default body.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { ApiError, newRequestId } from '../core/index.js';

type ParserError = Error & { code?: string; rawPacket?: unknown };

/** Does the raw request carry an x-request-id header line with a control character in it? */
function hasBadRequestId(raw: string): boolean {
  for (const line of raw.split('\n')) {
    if (!/^x-request-id:/i.test(line)) continue;
    const value = line.endsWith('\r') ? line.slice(0, -1) : line;
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      if ((c < 0x20 && c !== 0x09) || c === 0x7f) return true;
    }
  }
  return false;
}

function answer(err: ParserError): ApiError {
  if (err.code === 'HPE_HEADER_OVERFLOW') return new ApiError('HEADERS_TOO_LARGE');
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return new ApiError('REQUEST_TIMEOUT');
  const raw = Buffer.isBuffer(err.rawPacket) ? err.rawPacket.toString('latin1') : '';
  return new ApiError(hasBadRequestId(raw) ? 'INVALID_REQUEST_ID' : 'INVALID_HTTP');
}

export function clientErrorHandler(err: ParserError, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  if (socket.writable) {
    const a = answer(err);
    const body = JSON.stringify({ error_code: a.code, error_msg: a.message });
    socket.write(
      `HTTP/1.1 ${a.status} ${STATUS_CODES[a.status] ?? 'Error'}\r\ncontent-type: application/json; charset=utf-8\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nx-request-id: ${newRequestId()}\r\nconnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}
