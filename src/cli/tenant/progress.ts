// The progress bar drawn while the CLI waits for jobs: one line on a terminal, redrawn in place,
// erased at the end. Only ever given a TTY stream; elsewhere nothing is drawn at all.
import type { Job } from '../../client/index.js';
import { cut } from './text.js';

/** How a set of jobs stands; `failed` counts every final state but succeeded. */
export interface Counts {
  total: number;
  queued: number;
  running: number;
  succeeded: number;
  failed: number;
}

export function countJobs(jobs: Iterable<Pick<Job, 'state'>>): Counts {
  const c: Counts = { total: 0, queued: 0, running: 0, succeeded: 0, failed: 0 };
  for (const { state } of jobs) {
    c.total += 1;
    if (state === 'queued' || state === 'running' || state === 'succeeded') c[state] += 1;
    else c.failed += 1;
  }
  return c;
}

const BAR_MAX = 30;
const BAR_MIN = 10;

/** The bar's line for a screen `width` wide, kept one short of it: a full line would wrap on some terminals. */
export function renderBar(c: Counts, width: number): string {
  const done = c.succeeded + c.failed;
  const text = `${done}/${c.total} done  succeeded ${c.succeeded}  failed ${c.failed}  running ${c.running}  queued ${c.queued}`;
  const room = Math.min(BAR_MAX, width - 1 - text.length - 3);
  if (room < BAR_MIN) return cut(text, width - 1);
  const filled = c.total === 0 ? 0 : Math.round((done / c.total) * room);
  return `[${'#'.repeat(filled)}${'.'.repeat(room - filled)}] ${text}`;
}

/** Carriage return, then erase to the end of the line (ECMA-48 EL). */
const ERASE_LINE = '\r\x1b[K';
/** At most ~10 redraws a second, however fast the events come. */
const REDRAW_MS = 100;

export class ProgressBar {
  readonly #stream: NodeJS.WriteStream;
  readonly #counts: () => Counts;
  #drawnAt = 0;
  #timer: NodeJS.Timeout | null = null;
  #shown = false;

  /** `counts` is read when the bar is drawn, not on every change: at most once per redraw. */
  constructor(stream: NodeJS.WriteStream, counts: () => Counts) {
    this.#stream = stream;
    this.#counts = counts;
  }

  /** The counts have changed: the bar is redrawn now, or at the next redraw's time. */
  update(): void {
    if (this.#timer !== null) return;
    const wait = this.#drawnAt + REDRAW_MS - Date.now();
    if (wait <= 0) {
      this.#draw();
      return;
    }
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#draw();
    }, wait);
  }

  /** Erases the bar, leaving the cursor where the bar began. */
  clear(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#shown) this.#stream.write(ERASE_LINE);
    this.#shown = false;
  }

  #draw(): void {
    this.#drawnAt = Date.now();
    // Read each time: the terminal may have been resized since the last line.
    this.#stream.write(`${ERASE_LINE}${renderBar(this.#counts(), this.#stream.columns)}`);
    this.#shown = true;
  }
}
