// Waiting for tasks: every task's event stream followed at once, a progress bar on a terminal's
// stderr, Ctrl-C to stop waiting (the tasks keep running), then the tasks' final jobs.
import type { Job, TenantClient } from '../../client/index.js';
import { CliFailure, EXIT, explain, type Connection } from './connection.js';
import { ProgressBar, countJobs } from './progress.js';

export interface TaskJobs {
  task_id: string;
  jobs: Job[];
}

/** Streams each task's job events into `jobs` until every task is done or `signal` aborts. */
async function followAll(client: TenantClient, taskIds: readonly string[], jobs: Map<string, Pick<Job, 'state'>>, changed: () => void, signal: AbortSignal): Promise<void> {
  // One failing stream ends the others: the wait as a whole has failed.
  const failed = new AbortController();
  const stop = AbortSignal.any([signal, failed.signal]);
  await Promise.all(
    taskIds.map(async (taskId) => {
      try {
        for await (const job of client.taskEvents(taskId, { signal: stop })) {
          jobs.set(job.job_id, job);
          changed();
        }
      } catch (err) {
        if (stop.aborted) return;
        failed.abort();
        throw err;
      }
    }),
  );
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

const isFinal = (j: Pick<Job, 'state'>): boolean => j.state !== 'queued' && j.state !== 'running';

/** A stream that ended without its `done` (a proxy's idle cut, say) is opened again after this. */
const REFOLLOW_MS = 1_000;

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
): Promise<TaskJobs[]> {
  const jobs = new Map<string, Pick<Job, 'state'>>(initial.map((j) => [j.job_id, j]));
  const finished = new Map<string, Job[]>();
  const bar = process.stderr.isTTY ? new ProgressBar(process.stderr) : null;
  const which = taskIds.length === 1 ? 'the task keeps' : 'the tasks keep';
  try {
    bar?.update(countJobs(jobs.values()));
    let pending = [...taskIds];
    while (pending.length > 0 && !interrupt.signal.aborted) {
      await followAll(conn.client, pending, jobs, () => bar?.update(countJobs(jobs.values())), interrupt.signal);
      for (const taskId of pending) finished.set(taskId, (await conn.client.getTask(taskId)).jobs);
      pending = pending.filter((id) => !(finished.get(id) ?? []).every(isFinal));
      if (pending.length > 0) await new Promise((r) => setTimeout(r, REFOLLOW_MS));
    }
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
