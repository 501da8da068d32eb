// `adbfleet run "CMD" --instances a,b | --all [--timeout S] [--wait] [--json]` (SPEC §12): submits
// the command as one task per 100 instances (KooPhone's limit), then optionally waits for them all.
import type { Command } from 'commander';
import type { RunCommandResult } from '../../client/index.js';
import { LIMITS } from '../../core/index.js';
import { EXIT, CliFailure, explain, tenantAction, withConnection, type Connection } from './connection.js';
import { catchInterrupt, waitForTasks, type Interrupt } from './follow.js';
import { parseIds, parseIntIn } from './options.js';
import { printJobs, printSubmitted } from './report.js';

interface RunFlags {
  instances?: string[];
  all?: boolean;
  timeout?: number;
  wait?: boolean;
  json?: boolean;
}

function checkTargets(_command: string, flags: RunFlags): void {
  if ((flags.instances === undefined) === (flags.all !== true)) throw new CliFailure('give either --instances a,b,c or --all');
}

async function instanceIds(conn: Connection, flags: RunFlags): Promise<string[]> {
  if (flags.instances !== undefined) return flags.instances;
  const ids = (await conn.client.allInstances()).map((i) => i.instance_id);
  if (ids.length === 0) throw new CliFailure('--all: this tenant has no instances');
  return ids;
}

async function run(conn: Connection, command: string, flags: RunFlags): Promise<number> {
  // Caught from the start: a Ctrl-C during the submission still ends in the wait's message,
  // which names the tasks accepted by then (a request already sent may be accepted regardless).
  const interrupt = flags.wait === true ? catchInterrupt() : null;
  try {
    return await submit(conn, command, flags, interrupt);
  } finally {
    interrupt?.release();
  }
}

async function submit(conn: Connection, command: string, flags: RunFlags, interrupt: Interrupt | null): Promise<number> {
  const ids = await instanceIds(conn, flags);
  const tasks: RunCommandResult[] = [];
  for (let from = 0; from < ids.length && interrupt?.signal.aborted !== true; from += LIMITS.instancesPerRequest) {
    const chunk = ids.slice(from, from + LIMITS.instancesPerRequest);
    try {
      tasks.push(
        await conn.client.runCommand({ command, instance_ids: chunk, ...(flags.timeout === undefined ? {} : { timeout_seconds: flags.timeout }) }),
      );
    } catch (err) {
      if (tasks.length === 0) throw err;
      // The tasks already accepted run regardless: say which, so they can be followed or cancelled.
      const accepted = tasks.map((t) => t.task_id).join(', ');
      throw new CliFailure(`instances ${from + 1}-${from + chunk.length} of ${ids.length}: ${explain(err, conn.url)}; tasks already submitted and running: ${accepted}`);
    }
  }
  if (flags.wait !== true) {
    printSubmitted(tasks, flags.json === true);
    if (flags.json !== true) {
      process.stderr.write(`follow: ${tasks.map((t) => `adbfleet task ${t.task_id} --watch`).join('; ')}\n`);
    }
    return EXIT.ok;
  }
  const submitted = tasks.flatMap((t) => t.cmd_jobs.map((j) => ({ job_id: j.job_id, state: 'queued' as const })));
  if (tasks.length === 0) throw new CliFailure('stopped before any task was submitted', EXIT.interrupted);
  const finished = await waitForTasks(conn, tasks.map((t) => t.task_id), submitted, interrupt ?? undefined);
  return printJobs(finished, flags.json === true, 'tasks');
}

export function registerRunCommand(program: Command): void {
  const cmd = withConnection(
    program
      .command('run <command>')
      .description('run an adb shell command on instances (one task per 100 instances)')
      .option('--instances <ids>', 'comma-separated instance ids', parseIds)
      .option('--all', 'every instance of the tenant')
      .option('--timeout <seconds>', `per job, ${LIMITS.asyncTimeoutSeconds.min}-${LIMITS.asyncTimeoutSeconds.max} (default ${LIMITS.asyncTimeoutSeconds.default})`, parseIntIn(LIMITS.asyncTimeoutSeconds))
      .option('--wait', 'follow the jobs live, then print their results (exit 1 unless all succeed)')
      .option('--json', 'print JSON instead of text'),
  );
  cmd.action(tenantAction(cmd, (conn, command: string, flags: RunFlags) => run(conn, command, flags), checkTargets));
}
