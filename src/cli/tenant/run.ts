// `adbfleet run "CMD" --instances a,b | --all [--timeout S] [--wait] [--json]` (SPEC §12): submits
// the command as one task per 100 instances (KooPhone's limit), then optionally waits for them all.
import type { Command } from 'commander';
import { tenantAction, withConnection, type Connection } from './connection.js';
import { printJobs } from './report.js';
import { checkTargets, printUnwaited, submitAll, submitAndWait, timeoutField, withTargets, type TargetFlags } from './targets.js';

async function run(conn: Connection, command: string, flags: TargetFlags): Promise<number> {
  const send = (ids: string[]): ReturnType<typeof conn.client.runCommand> => conn.client.runCommand({ command, instance_ids: ids, ...timeoutField(flags) });
  if (flags.wait !== true) return printUnwaited(await submitAll(conn, flags, send, null), flags.json === true);
  const { finished } = await submitAndWait(conn, flags, send);
  return printJobs(finished, flags.json === true, 'tasks');
}

export function registerRunCommand(program: Command): void {
  const cmd = withConnection(
    withTargets(program.command('run <command>').description('run an adb shell command on instances (one task per 100 instances)'), { wait: true }),
  );
  cmd.action(tenantAction(cmd, (conn, command: string, flags: TargetFlags) => run(conn, command, flags), (_command: string, flags: TargetFlags) => checkTargets(flags)));
}
