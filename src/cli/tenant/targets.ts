// What every command that submits tasks shares (run and the device operations): --instances or
// --all, one request per 100 instances (KooPhone's limit), then either the submitted tasks or,
// with --wait, their final jobs.
import type { Command } from 'commander';
import { LIMITS } from '../../core/index.js';
import { CliFailure, EXIT, explain, type Connection } from './connection.js';
import { catchInterrupt, waitForTasks, type Interrupt, type TaskResult } from './follow.js';
import { appendIds, duplicateOf, parseIntIn } from './options.js';
import { printSubmitted } from './report.js';

export interface TargetFlags {
  instances?: string[];
  all?: boolean;
  timeout?: number;
  wait?: boolean;
  json?: boolean;
}

/** A task as a submission answers it (async-command and every operation). */
export interface Submitted {
  task_id: string;
  cmd_jobs: { instance_id: string; job_id: string }[];
}

/** --instances, --all, --timeout and --json; --wait unless the command always waits. */
export function withTargets(cmd: Command, opts: { wait: boolean }): Command {
  cmd
    .option('--instances <ids>', 'comma-separated instance ids (repeatable)', appendIds)
    .option('--all', 'every instance of the tenant')
    .option('--timeout <seconds>', `per job, ${LIMITS.asyncTimeoutSeconds.min}-${LIMITS.asyncTimeoutSeconds.max} (default ${LIMITS.asyncTimeoutSeconds.default})`, parseIntIn(LIMITS.asyncTimeoutSeconds));
  if (opts.wait) cmd.option('--wait', 'follow the jobs live, then print their results (exit 1 unless all succeed)');
  return cmd.option('--json', 'print JSON instead of text');
}

export function checkTargets(flags: TargetFlags): void {
  if ((flags.instances === undefined) === (flags.all !== true)) throw new CliFailure('give either --instances a,b,c or --all');
  const duplicate = flags.instances === undefined ? null : duplicateOf(flags.instances);
  if (duplicate !== null) throw new CliFailure(duplicate);
}

/** `{timeout_seconds}` when --timeout was given, for a request body. */
export const timeoutField = (flags: TargetFlags): { timeout_seconds?: number } => (flags.timeout === undefined ? {} : { timeout_seconds: flags.timeout });

async function instanceIds(conn: Connection, flags: TargetFlags): Promise<string[]> {
  if (flags.instances !== undefined) return flags.instances;
  const ids = (await conn.client.allInstances()).map((i) => i.instance_id);
  if (ids.length === 0) throw new CliFailure('--all: this tenant has no instances');
  return ids;
}

/**
 * Sends one request per 100 target instances. With `interrupt` (a wait follows) Ctrl-C stops
 * between requests; a refusal after the first names the tasks already accepted, which run regardless.
 */
export async function submitAll<T extends Submitted>(conn: Connection, flags: TargetFlags, send: (ids: string[]) => Promise<T>, interrupt: Interrupt | null): Promise<T[]> {
  const ids = await instanceIds(conn, flags);
  const tasks: T[] = [];
  for (let from = 0; from < ids.length && interrupt?.signal.aborted !== true; from += LIMITS.instancesPerRequest) {
    const chunk = ids.slice(from, from + LIMITS.instancesPerRequest);
    try {
      tasks.push(await send(chunk));
    } catch (err) {
      if (tasks.length === 0) throw err;
      const accepted = tasks.map((t) => t.task_id).join(', ');
      throw new CliFailure(`instances ${from + 1}-${from + chunk.length} of ${ids.length}: ${explain(err, conn.url)}; tasks already submitted and running: ${accepted}`);
    }
  }
  return tasks;
}

/** Submits, then waits for every task's jobs to be final (Ctrl-C ends the wait, exit 130). */
export async function submitAndWait<T extends Submitted>(conn: Connection, flags: TargetFlags, send: (ids: string[]) => Promise<T>): Promise<{ submitted: T[]; finished: TaskResult[] }> {
  // Caught from the start: a Ctrl-C during the submission still ends in the wait's message,
  // which names the tasks accepted by then (a request already sent may be accepted regardless).
  const interrupt = catchInterrupt();
  try {
    const submitted = await submitAll(conn, flags, send, interrupt);
    if (submitted.length === 0) throw new CliFailure('stopped before any task was submitted', EXIT.interrupted);
    const initial = submitted.flatMap((t) => t.cmd_jobs.map((j) => ({ job_id: j.job_id, state: 'queued' as const })));
    const finished = await waitForTasks(conn, submitted.map((t) => t.task_id), initial, interrupt);
    return { submitted, finished };
  } finally {
    interrupt.release();
  }
}

/** Without --wait: the tasks (the API's answers with --json) and how to follow them. */
export function printUnwaited(tasks: readonly Submitted[], json: boolean): number {
  printSubmitted(tasks, json);
  if (!json) process.stderr.write(`follow: ${tasks.map((t) => `adbfleet task ${t.task_id} --watch`).join('; ')}\n`);
  return EXIT.ok;
}
