// Requests Node's HTTP parser rejects before Fastify sees them (a control character in a header,
// headers over the size limit, a malformed request line): still answered in SPEC's envelope, with
// an x-request-id, instead of Fastify's default body.
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { API_ERRORS } from '../core/index.js';

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

function answer(err: ParserError): { status: number; code: string; msg: string } {
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    return { status: 431, code: API_ERRORS.INVALID_REQUEST.code, msg: 'headers: larger than the server accepts' };
  }
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return { status: 408, code: API_ERRORS.INVALID_REQUEST.code, msg: 'request: not received in time' };
  }
  const raw = Buffer.isBuffer(err.rawPacket) ? err.rawPacket.toString('latin1') : '';
  if (hasBadRequestId(raw)) {
    const e = API_ERRORS.MISSING_REQUEST_ID;
    return { status: e.status, code: e.code, msg: 'x-request-id: must be 1-128 printable ASCII characters' };
  }
  return { status: 400, code: API_ERRORS.INVALID_REQUEST.code, msg: 'request: not valid HTTP (a header holds a character HTTP forbids)' };
}

export function clientErrorHandler(err: ParserError, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  if (socket.writable) {
    const a = answer(err);
    const body = JSON.stringify({ error_code: a.code, error_msg: a.msg });
    socket.write(
      `HTTP/1.1 ${a.status} ${STATUS_CODES[a.status] ?? 'Error'}\r\ncontent-type: application/json; charset=utf-8\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nx-request-id: ${randomUUID()}\r\nconnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}
