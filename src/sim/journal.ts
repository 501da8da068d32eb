// The execution journal: one entry per command, written the moment the command starts, so a test
// can prove that nothing ran twice even when the run was cut short.
import type { JournalEnd, JournalEntry } from './types.js';

export class Journal {
  #entries: JournalEntry[] = [];
  #seq = 0;

  start(serial: string, command: string, service: string, streamId: number, connectionId: number): JournalEntry {
    const e: JournalEntry = {
      seq: ++this.#seq,
      serial,
      command,
      service,
      streamId,
      connectionId,
      startedAt: Date.now(),
      endedAt: null,
      exitCode: null,
      end: 'running',
    };
    this.#entries.push(e);
    return e;
  }

  /** Only the first end counts: a command that exited is not later "disconnected". */
  static finish(e: JournalEntry | null, end: Exclude<JournalEnd, 'running'>, exitCode: number | null = null): void {
    // null: a stream that is not a command (a sync session) has no entry.
    if (e === null || e.end !== 'running') return;
    e.end = end;
    e.exitCode = exitCode;
    e.endedAt = Date.now();
  }

  /** Copies, so callers cannot edit the record. */
  entries(serial?: string): JournalEntry[] {
    const out: JournalEntry[] = [];
    for (const e of this.#entries) if (serial === undefined || e.serial === serial) out.push({ ...e });
    return out;
  }

  clear(): void {
    this.#entries = [];
  }
}
