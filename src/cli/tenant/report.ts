// What the tenant commands print on stdout: tables for people, the API's JSON with --json, and
// the exit code a set of jobs earns.
import type { InstanceRow, Job, TaskPage } from '../../client/index.js';
import { statusName } from '../../core/index.js';
import { EXIT } from './connection.js';
import type { SavedFile } from './files.js';
import type { TaskResult } from './follow.js';
import { columns, firstLine, printable, widthOf } from './text.js';

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

function print(lines: string): void {
  process.stdout.write(`${lines}\n`);
}

/** 0 when every job succeeded, else 1 (a failed, timed-out, cancelled or unfinished job). */
export function exitCodeOf(jobs: readonly Pick<Job, 'state'>[]): number {
  return jobs.every((j) => j.state === 'succeeded') ? EXIT.ok : EXIT.jobsFailed;
}

const STATE_ORDER = ['succeeded', 'failed', 'timed_out', 'cancelled', 'running', 'queued'] as const;

/** "3 jobs: 2 succeeded, 1 timed_out" */
function summary(jobs: readonly Pick<Job, 'state'>[]): string {
  const parts = STATE_ORDER.map((s) => [s, jobs.filter((j) => j.state === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`);
  return `${jobs.length} job${jobs.length === 1 ? '' : 's'}: ${parts.join(', ')}`;
}

/** The jobs of one or more tasks as one table, a summary line under it; returns the exit code. */
export function printJobs(tasks: readonly TaskResult[], json: boolean, asApi: 'jobs' | 'tasks'): number {
  const all = tasks.flatMap((t) => t.jobs);
  if (json) {
    // One task's read (task, cancel) is the API's own data; a run's tasks are listed with their ids.
    printJson(asApi === 'jobs' ? { jobs: all } : { tasks });
  } else {
    const rows = all.map((j) => [printable(j.instance_id), j.state, j.exit_code === null ? '-' : String(j.exit_code), firstLine(j.execute_msg)]);
    print(columns([['INSTANCE', 'STATE', 'EXIT', 'OUTPUT'], ...rows], widthOf(process.stdout)));
    print(`${summary(all)} (task ${tasks.map((t) => t.task_id).join(', ')})`);
  }
  return exitCodeOf(all);
}

/** Jobs that leave a file (pull, screenshot): where each was saved, or why its job failed (its
 * output, which for a file operation is the reason; else its error_msg). */
export function printSaved(tasks: readonly TaskResult[], saved: readonly SavedFile[], json: boolean): number {
  const all = tasks.flatMap((t) => t.jobs);
  if (json) {
    printJson({ tasks, files: saved });
  } else {
    const byJob = new Map(saved.map((f) => [f.job_id, f]));
    const rows = all.map((j) => {
      const f = byJob.get(j.job_id);
      return [printable(j.instance_id), j.state, f === undefined ? '-' : String(f.bytes), f === undefined ? firstLine(j.execute_msg === '' ? j.error_msg : j.execute_msg) : printable(f.path)];
    });
    // Not cut to the terminal: a path is only useful whole.
    print(columns([['INSTANCE', 'STATE', 'BYTES', 'FILE'], ...rows], Number.POSITIVE_INFINITY));
    print(`${summary(all)} (task ${tasks.map((t) => t.task_id).join(', ')})`);
  }
  return exitCodeOf(all);
}

/** A run that was not waited for: its tasks and each job's id, or the API's answers with --json. */
export function printSubmitted(tasks: readonly { task_id: string; cmd_jobs: { instance_id: string; job_id: string }[] }[], json: boolean): void {
  if (json) {
    printJson({ tasks });
    return;
  }
  const width = widthOf(process.stdout);
  for (const t of tasks) {
    print(`task ${t.task_id}`);
    print(columns([['INSTANCE', 'JOB'], ...t.cmd_jobs.map((j) => [printable(j.instance_id), j.job_id])], width));
  }
}

export function printTasks(page: TaskPage, json: boolean): void {
  if (json) {
    printJson(page);
    return;
  }
  const rows = page.tasks.map((t) => {
    const c = t.counts;
    const total = c.queued + c.running + c.succeeded + c.failed + c.timed_out + c.cancelled;
    const failed = c.failed + c.timed_out + c.cancelled;
    // Seconds are enough to tell tasks apart by eye; --json has the full timestamp.
    const created = t.created_at.slice(0, 19).replace('T', ' ');
    return [t.task_id, created, `${c.succeeded + failed}/${total}`, String(failed), printable(t.command)];
  });
  print(columns([['TASK', 'CREATED (UTC)', 'DONE', 'FAILED', 'COMMAND'], ...rows], widthOf(process.stdout)));
  if (page.next_cursor !== null) print(`more: adbfleet tasks --cursor ${page.next_cursor}`);
}

export function printInstances(instances: readonly InstanceRow[], json: boolean): void {
  if (json) {
    printJson({ instances });
    return;
  }
  const rows = instances.map((i) => [
    printable(i.instance_id),
    statusName(i.running_status),
    printable(i.zone),
    printable(i.instance_name),
  ]);
  print(columns([['INSTANCE', 'STATUS', 'ZONE', 'NAME'], ...rows], widthOf(process.stdout)));
}
