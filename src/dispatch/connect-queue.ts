// Connect attempts under way: at most `max` at once, the rest start in turn as attempts end (a
// fleet coming up must not open 10,000 sockets at once). Lanes waiting here stay queued and
// cancellable.
import type { Lane } from './lane.js';

export class ConnectQueue {
  readonly #max: number;
  /** the attempt; its promise settles when the attempt has been handled */
  readonly #attempt: (lane: Lane) => Promise<void>;
  #inFlight = 0;
  #waiting: Lane[] = [];
  #stopped = false;

  constructor(max: number, attempt: (lane: Lane) => Promise<void>) {
    this.#max = max;
    this.#attempt = attempt;
  }

  /** Starts the lane's attempt now, or once fewer than max are under way. */
  add(lane: Lane): void {
    if (this.#inFlight < this.#max) this.#run(lane);
    else this.#waiting.push(lane);
  }

  /** Calls off the attempts not started yet (their lanes are not connecting any more). */
  stop(): void {
    this.#stopped = true;
    for (const lane of this.#waiting) lane.connectEnded();
    this.#waiting = [];
  }

  #run(lane: Lane): void {
    this.#inFlight++;
    void this.#attempt(lane).finally(() => {
      this.#inFlight--;
      while (this.#inFlight < this.#max && this.#waiting.length > 0 && !this.#stopped) this.#run(this.#waiting.shift()!);
    });
  }
}
