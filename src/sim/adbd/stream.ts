// One stream of a simulated adbd connection, and what its command has to send: the command's
// output read into one WRTE payload (shell v2 framed, with the exit packet once it ended).
import { EXIT_PACKET_SIZE, SHELL_HEADER_SIZE, ShellId, exitPacket, shellHeader, type ShellV2Parser } from '../../adb/wire/index.js';
import { Journal } from '../journal.js';
import { EOF, WAIT, type Proc } from '../shell/proc.js';
import type { JournalEntry } from '../types.js';

export interface Stream {
  localId: number;
  remoteId: number;
  proc: Proc;
  v2: boolean;
  /**
   * What may be sent before the host's next OKAY: with delayed_ack the bytes left of the host's
   * grant (its OPEN's arg1, then its OKAYs' counts; a whole WRTE goes out while any is left, so
   * it may go negative, as in adbd); without, 1 while no WRTE is in flight and 0 while one is.
   */
  window: number;
  /** a burst used up its share of the event loop: the rest goes out on the next turn */
  burstPending: boolean;
  /** null for a sync session: the journal records commands, and a health check's `sync:` OPEN is none */
  entry: JournalEntry | null;
  /** shell v2 only: the host's stdin and close-stdin packets */
  stdin: ShellV2Parser | null;
}

/** Stop filling a WRTE when less than this is left: one more tiny read is not worth it. */
export const MIN_FILL = 256;
/**
 * WRTE payload bytes one stream sends in one go before the others get the event loop: with
 * delayed_ack a wide window would otherwise let one pull or a long `seq` hold the whole fleet.
 */
export const BURST_BYTES = 4 * 1024 * 1024;

export interface Payload {
  parts: Buffer[];
  size: number;
  /** the command ended and all of it, the exit packet included, is in parts */
  done: boolean;
  /** the command has nothing more now (it wakes the stream when it has) */
  waiting: boolean;
}

/** Reads what the command has into one payload of at most max bytes; journals its exit when it ends. */
export function readPayload(s: Stream, max: number): Payload {
  const parts: Buffer[] = [];
  let size = 0;
  let eof = false;
  let waiting = false;
  for (;;) {
    const room = max - size - (s.v2 ? SHELL_HEADER_SIZE : 0);
    const r = s.proc.read(room);
    if (r === WAIT) {
      waiting = true;
      break;
    }
    if (r === EOF) {
      eof = true;
      break;
    }
    if (s.v2) {
      parts.push(shellHeader(r.fd === 1 ? ShellId.Stdout : ShellId.Stderr, r.data.length));
      size += SHELL_HEADER_SIZE;
    }
    parts.push(r.data);
    size += r.data.length;
    if (max - size < MIN_FILL) break;
  }
  let done = false;
  if (eof) {
    Journal.finish(s.entry, 'exit', s.proc.exitCode);
    if (!s.v2) done = true;
    else if (max - size >= EXIT_PACKET_SIZE) {
      parts.push(exitPacket(s.proc.exitCode));
      size += EXIT_PACKET_SIZE;
      done = true;
    }
    // else: the exit packet goes in the next WRTE; read() keeps answering EOF.
  }
  return { parts, size, done, waiting };
}
