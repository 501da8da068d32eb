// Waiting for tasks: their event streams followed a bounded number at a time, a progress bar on a
// terminal's stderr, Ctrl-C to stop waiting (the tasks keep running), then the tasks' final jobs.
import { AdbfleetError, type Job, type TenantClient } from '../../client/index.js';
import { CliFailure, EXIT, explain, type Connection } from './connection.js';
import { ProgressBar, countJobs } from './progress.js';

export interface TaskResult {
  task_id: string;
  jobs: Job[];
}

/** A broken stream is opened again after this, while the service still answers. */
const REFOLLOW_MS = 1_000;
/** Breaks in a row, with no event between them, before the wait gives up. */
const MAX_BREAKS = 5;

/**
 * Streams open at once. The service takes at most ADBFLEET_HTTP_CONNECTIONS_PER_SOURCE (256 by
 * default) connections from one address, shared with whoever else is behind it: one stream per task
 * failed past 25,600 instances. A task followed later loses nothing: its stream starts with every
 * job's current state.
 */
const MAX_STREAMS = 16;

/** A stream closed before any answer while others of ours were open: the service's connection cap
 * per source (it closes a connection over it as it arrives), so the task waits for a free stream. */
class OverConnectionCap extends Error {}

/** Follows one task's events until its `done` (or `signal` aborts), opening a broken stream again. */
async function followTask(client: TenantClient, taskId: string, onJob: (job: Job) => void, signal: AbortSignal, othersOpen: () => boolean): Promise<void> {
  let breaks = 0;
  while (!signal.aborted) {
    let heard = false;
    try {
      for await (const job of client.taskEvents(taskId, { signal })) {
        breaks = 0;
        heard = true;
        onJob(job);
      }
      return;
    } catch (err) {
      if (signal.aborted) return;
      if (!heard && err instanceof AdbfleetError && err.status === 0 && othersOpen()) throw new OverConnectionCap();
      // A proxy's idle cut or a restarting node: worth another stream if the service still
      // answers (this throws when it does not), not forever if the stream itself keeps failing.
      await client.getTask(taskId);
      breaks += 1;
      if (breaks >= MAX_BREAKS) throw err;
      await new Promise((r) => setTimeout(r, REFOLLOW_MS));
    }
  }
}

/** Streams each task's job events into `jobs` until every task is done or `signal` aborts. */
async function followAll(client: TenantClient, taskIds: readonly string[], jobs: Map<string, Pick<Job, 'state'>>, changed: () => void, signal: AbortSignal): Promise<void> {
  // One task that cannot be followed ends the others: the wait as a whole has failed.
  const failed = new AbortController();
  const stop = AbortSignal.any([signal, failed.signal]);
  const onJob = (job: Job): void => {
    jobs.set(job.job_id, job);
    changed();
  };
  const waiting = [...taskIds];
  let open = 0;
  // Each worker follows one task at a time; one the service turned away leaves its task to the
  // others and ends, so the streams settle at what the service takes (one always stays).
  const worker = async (): Promise<void> => {
    for (let taskId = waiting.shift(); taskId !== undefined && !stop.aborted; taskId = waiting.shift()) {
      open += 1;
      try {
        await followTask(client, taskId, onJob, stop, () => open > 1);
      } catch (err) {
        if (!(err instanceof OverConnectionCap)) {
          failed.abort();
          throw err;
        }
        waiting.unshift(taskId);
        // Asked again here: the others may have ended meanwhile, and then this worker is the last.
        if (open > 1) return;
      } finally {
        open -= 1;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(MAX_STREAMS, taskIds.length) }, worker));
}

/** Ctrl-C, caught: it aborts `signal` instead of ending the process, until `release`. */
export interface Interrupt {
  signal: AbortSignal;
  release(): void;
}

export function catchInterrupt(): Interrupt {
  const ctl = new AbortController();
  const onSigint = (): void => ctl.abort();
  process.on('SIGINT', onSigint);
  return { signal: ctl.signal, release: () => process.off('SIGINT', onSigint) };
}

/**
 * Follows the tasks until all their jobs are final, then reads them in request order. `initial`
 * is what is known before the first event (the submitted jobs), so the bar has its total at once.
 * Ctrl-C ends the wait with exit 130 and says how to cancel; a lost service, with exit 2.
 */
export async function waitForTasks(
  conn: Connection,
  taskIds: readonly string[],
  initial: readonly Pick<Job, 'job_id' | 'state'>[],
  interrupt: Interrupt = catchInterrupt(),
): Promise<TaskResult[]> {
  const jobs = new Map<string, Pick<Job, 'state'>>(initial.map((j) => [j.job_id, j]));
  const finished = new Map<string, Job[]>();
  const bar = process.stderr.isTTY ? new ProgressBar(process.stderr, () => countJobs(jobs.values())) : null;
  const which = taskIds.length === 1 ? 'the task keeps' : 'the tasks keep';
  try {
    bar?.update();
    await followAll(conn.client, taskIds, jobs, () => bar?.update(), interrupt.signal);
    // The final jobs in request order, read once more: the events came per job, as they happened.
    if (!interrupt.signal.aborted) for (const taskId of taskIds) finished.set(taskId, (await conn.client.getTask(taskId)).jobs);
  } catch (err) {
    if (!interrupt.signal.aborted) {
      const watch = taskIds.map((id) => `adbfleet task ${id} --watch`).join('; ');
      throw new CliFailure(`${explain(err, conn.url)}; stopped waiting, ${which} running (to follow: ${watch})`);
    }
  } finally {
    interrupt.release();
    bar?.clear();
  }
  if (interrupt.signal.aborted) {
    const cancel = taskIds.map((id) => `adbfleet cancel ${id}`).join('; ');
    throw new CliFailure(`stopped waiting; ${which} running (to stop: ${cancel})`, EXIT.interrupted);
  }
  return taskIds.map((taskId) => ({ task_id: taskId, jobs: finished.get(taskId) ?? [] }));
}
