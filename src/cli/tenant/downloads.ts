// `adbfleet pull` and `screenshot` (SPEC §10): always wait, then save each succeeded job's file
// under --out: DIR/<instance>/<name> for a pull, DIR/<instance>.png for a screenshot.
import type { Command } from 'commander';
import { join, posix } from 'node:path';
import { tenantAction, withConnection, type Connection } from './connection.js';
import { saveFiles } from './files.js';
import { printSaved } from './report.js';
import { checkTargets, submitAndWait, timeoutField, withTargets, type TargetFlags } from './targets.js';

interface OutFlags extends TargetFlags {
  out: string;
}

async function pull(conn: Connection, remote: string, flags: OutFlags): Promise<number> {
  const { finished } = await submitAndWait(conn, flags, (ids) => conn.client.pullFile({ path: remote, instance_ids: ids, ...timeoutField(flags) }));
  // Instance ids are letters, digits, _ and - (the service's rule): safe as directory names.
  const name = posix.basename(remote) || 'pulled';
  const saved = await saveFiles(conn, finished, (job) => join(flags.out, job.instance_id, name));
  return printSaved(finished, saved, flags.json === true);
}

async function screenshot(conn: Connection, flags: OutFlags): Promise<number> {
  const { finished } = await submitAndWait(conn, flags, (ids) => conn.client.screenshot({ instance_ids: ids, ...timeoutField(flags) }));
  const saved = await saveFiles(conn, finished, (job) => join(flags.out, `${job.instance_id}.png`));
  return printSaved(finished, saved, flags.json === true);
}

export function registerDownloadCommands(program: Command): void {
  const pullCmd = withConnection(
    withTargets(
      program
        .command('pull <remote-path>')
        .description('read a file from instances, saved as DIR/<instance>/<name> (waits for the jobs)')
        .option('--out <dir>', 'where to save the files', '.'),
      { wait: false },
    ),
  );
  pullCmd.action(tenantAction(pullCmd, (conn, remote: string, flags: OutFlags) => pull(conn, remote, flags), (_r: string, flags: OutFlags) => checkTargets(flags)));

  const shot = withConnection(
    withTargets(
      program
        .command('screenshot')
        .description('take a screenshot of instances, saved as DIR/<instance>.png (waits for the jobs)')
        .option('--out <dir>', 'where to save the PNGs', '.'),
      { wait: false },
    ),
  );
  shot.action(tenantAction(shot, (conn, flags: OutFlags) => screenshot(conn, flags), (flags: OutFlags) => checkTargets(flags)));
}
