// Requests Node's HTTP layer answers before Fastify sees them (a control character in a header,
// headers over the size limit, a malformed request line, a request not received in time, an
// Expect it cannot meet): still answered in SPEC's envelope, with an x-request-id, instead of
// Node's empty body.
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { ApiError, newRequestId } from '../core/index.js';
import { genReqId, REQUEST_ID_HEADER } from './request-id.js';
import { isUploading } from './upload-body.js';

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

function answer(err: ParserError, inFlight: boolean): ApiError {
  if (err.code === 'HPE_HEADER_OVERFLOW') return new ApiError('HEADERS_TOO_LARGE');
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return new ApiError('REQUEST_TIMEOUT');
  // The client ended its side before the body its Content-Length announced.
  if (err.code === 'HPE_INVALID_EOF_STATE' && inFlight) return new ApiError('BODY_LENGTH_MISMATCH');
  const raw = Buffer.isBuffer(err.rawPacket) ? err.rawPacket.toString('latin1') : '';
  return new ApiError(hasBadRequestId(raw) ? 'INVALID_REQUEST_ID' : 'INVALID_HTTP');
}

/** The server's response on this socket, when Node has one in flight (its request's headers were read). */
type HttpSocket = Socket & { _httpMessage?: (ServerResponse & { req?: IncomingMessage }) | null };

export function clientErrorHandler(err: ParserError, socket: HttpSocket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  // An upload's body may outlast the whole-request timeout while it keeps moving; its own idle
  // timeout applies instead (upload-body.ts).
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT' && isUploading(socket)) return;
  // A request timeout can fire after an answer started (one sent before its body arrived): bytes
  // written now would land inside that answer, so the socket is only closed.
  if (socket.writable && socket._httpMessage?.headersSent !== true) {
    // A request whose headers were read (a body cut short or too slow) has the caller's id.
    const req = socket._httpMessage?.req;
    const a = answer(err, req !== undefined);
    const body = JSON.stringify({ error_code: a.code, error_msg: a.message });
    socket.write(
      `HTTP/1.1 ${a.status} ${STATUS_CODES[a.status] ?? 'Error'}\r\ncontent-type: application/json; charset=utf-8\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nx-request-id: ${req === undefined ? newRequestId() : genReqId(req)}\r\nconnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}

/** Node's 'checkExpectation' (an Expect other than 100-continue): 417 in the envelope. The body the
 * client may still send is not read: the connection closes. */
export function expectationFailed(req: IncomingMessage, res: ServerResponse): void {
  const a = new ApiError('EXPECTATION_FAILED');
  const body = JSON.stringify({ error_code: a.code, error_msg: a.message });
  res.writeHead(a.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    [REQUEST_ID_HEADER]: genReqId(req),
    connection: 'close',
  });
  res.end(body);
}
