// The tenant commands that read or stop what was submitted (SPEC §12): `task`, `tasks`,
// `instances`, `output`, `cancel`.
import { Option, type Command } from 'commander';
import { LIMITS } from '../../core/index.js';
import { CliFailure, EXIT, tenantAction, withConnection, type Connection } from './connection.js';
import { waitForTasks } from './follow.js';
import { printInstances, printJobs, printTasks } from './report.js';
import { parseIntIn } from './options.js';
import { printableLines } from './text.js';

interface JsonFlag {
  json?: boolean;
}

async function task(conn: Connection, taskId: string, flags: JsonFlag & { watch?: boolean }): Promise<number> {
  // Read first even when watching: a task that does not exist is refused before any stream opens.
  let { jobs } = await conn.client.getTask(taskId);
  if (flags.watch === true && jobs.some((j) => j.state === 'queued' || j.state === 'running')) {
    jobs = (await waitForTasks(conn, [taskId], jobs))[0]?.jobs ?? [];
  }
  return printJobs([{ task_id: taskId, jobs }], flags.json === true, 'jobs');
}

async function tasks(conn: Connection, flags: JsonFlag & { limit?: number; cursor?: string }): Promise<number> {
  const page = await conn.client.listTasks({
    ...(flags.limit === undefined ? {} : { limit: flags.limit }),
    ...(flags.cursor === undefined ? {} : { cursor: flags.cursor }),
  });
  printTasks(page, flags.json === true);
  return EXIT.ok;
}

async function instances(conn: Connection, flags: JsonFlag): Promise<number> {
  printInstances(await conn.client.allInstances(), flags.json === true);
  return EXIT.ok;
}

const JOB_ID = /^[0-9a-f]{32}$/;

type Stream = 'stdout' | 'stderr' | 'combined';

async function output(conn: Connection, taskId: string, job: string, flags: { stream: Stream }): Promise<number> {
  let jobId = job;
  if (!JOB_ID.test(job)) {
    // Not a job id: the task's job on the instance of that id, the name a person has at hand.
    const found = (await conn.client.getTask(taskId)).jobs.find((j) => j.instance_id === job);
    if (found === undefined) throw new CliFailure(`${job}: task ${taskId} has no job of that id and none on an instance of that id`);
    jobId = found.job_id;
  }
  const out = await conn.client.getJobOutput(taskId, jobId);
  // As it was for a pipe or a file; on a terminal, a device's escape sequences are shown, not obeyed.
  process.stdout.write(process.stdout.isTTY ? printableLines(out[flags.stream]) : out[flags.stream]);
  if (out.output_truncated) {
    process.stderr.write(`adbfleet: the stored output was cut at the service's cap; the job produced ${out.output_bytes} bytes\n`);
  }
  return EXIT.ok;
}

async function cancel(conn: Connection, taskId: string, flags: JsonFlag): Promise<number> {
  const { jobs } = await conn.client.cancelTask(taskId);
  printJobs([{ task_id: taskId, jobs }], flags.json === true, 'jobs');
  // The cancel was done; the jobs' fates are in the table, not the exit code.
  return EXIT.ok;
}

const JSON_HELP = 'print JSON instead of text';

export function registerTaskCommands(program: Command): void {
  const taskCmd = withConnection(
    program
      .command('task <task_id>')
      .description("a task's jobs (exit 1 unless all succeeded)")
      .option('--watch', 'follow the jobs live until all are finished')
      .option('--json', JSON_HELP),
  );
  taskCmd.action(tenantAction(taskCmd, (conn, id: string, flags: JsonFlag & { watch?: boolean }) => task(conn, id, flags)));

  const tasksCmd = withConnection(
    program
      .command('tasks')
      .description('your tasks, newest first, one page')
      .option('--limit <n>', `tasks per page, ${LIMITS.taskListLimit.min}-${LIMITS.taskListLimit.max} (default ${LIMITS.taskListLimit.default})`, parseIntIn(LIMITS.taskListLimit))
      .option('--cursor <cursor>', 'the page after the one that printed it')
      .option('--json', JSON_HELP),
  );
  tasksCmd.action(tenantAction(tasksCmd, (conn, flags: JsonFlag & { limit?: number; cursor?: string }) => tasks(conn, flags)));

  const instancesCmd = withConnection(program.command('instances').description('your instances, with status and zone').option('--json', JSON_HELP));
  instancesCmd.action(tenantAction(instancesCmd, (conn, flags: JsonFlag) => instances(conn, flags)));

  const outputCmd = withConnection(
    program
      .command('output <task_id> <job>')
      .description("a job's full stored output, as it was (job: its job id, or the instance id it ran on)")
      .addOption(new Option('--stream <stream>', 'which output').choices(['stdout', 'stderr', 'combined']).default('combined')),
  );
  outputCmd.action(tenantAction(outputCmd, (conn, id: string, job: string, flags: { stream: Stream }) => output(conn, id, job, flags)));

  const cancelCmd = withConnection(
    program.command('cancel <task_id>').description("cancel a task's queued and running jobs").option('--json', JSON_HELP),
  );
  cancelCmd.action(tenantAction(cancelCmd, (conn, id: string, flags: JsonFlag) => cancel(conn, id, flags)));
}
