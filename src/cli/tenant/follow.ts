// Waiting for tasks: every task's event stream followed at once, a progress bar on a terminal's
// stderr, Ctrl-C to stop waiting (the tasks keep running), then the tasks' final jobs.
import type { Job, TenantClient } from '../../client/index.js';
import { CliFailure, EXIT } from './connection.js';
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

/**
 * Follows the tasks until all their jobs are final, then reads them in request order. `initial`
 * is what is known before the first event (the submitted jobs), so the bar has its total at once.
 * Ctrl-C ends the wait with exit 130 and says how to cancel.
 */
export async function waitForTasks(client: TenantClient, taskIds: readonly string[], initial: readonly Pick<Job, 'job_id' | 'state'>[]): Promise<TaskJobs[]> {
  const jobs = new Map<string, Pick<Job, 'state'>>(initial.map((j) => [j.job_id, j]));
  const bar = process.stderr.isTTY ? new ProgressBar(process.stderr) : null;
  const interrupt = new AbortController();
  const onSigint = (): void => interrupt.abort();
  process.on('SIGINT', onSigint);
  try {
    bar?.update(countJobs(jobs.values()));
    await followAll(client, taskIds, jobs, () => bar?.update(countJobs(jobs.values())), interrupt.signal);
  } finally {
    process.off('SIGINT', onSigint);
    bar?.clear();
  }
  if (interrupt.signal.aborted) {
    const cancel = taskIds.map((id) => `adbfleet cancel ${id}`).join('; ');
    const which = taskIds.length === 1 ? 'the task keeps' : 'the tasks keep';
    throw new CliFailure(`stopped waiting; ${which} running (to stop: ${cancel})`, EXIT.interrupted);
  }
  return Promise.all(taskIds.map(async (taskId) => ({ task_id: taskId, jobs: (await client.getTask(taskId)).jobs })));
}
