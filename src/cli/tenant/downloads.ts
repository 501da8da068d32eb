// `adbfleet pull` and `screenshot` (SPEC §10): always wait, then save each succeeded job's file
// under --out: DIR/<instance>/<name> for a pull, DIR/<instance>.png for a screenshot.
import type { Command } from 'commander';
import { join, posix } from 'node:path';
import { tenantAction, withConnection, type Connection } from './connection.js';
import { saveFiles } from './files.js';
import { printSaved } from './report.js';
import type { Job } from '../../client/index.js';
import { checkTargets, submitAndWait, timeoutField, withTargets, type Submitted, type TargetFlags } from './targets.js';

interface OutFlags extends TargetFlags {
  out: string;
}

/** Submits the tasks (the targets a task of at most 100 each), waits, saves each succeeded job's file at target(job). */
async function download(conn: Connection, flags: OutFlags, send: (ids: string[]) => Promise<Submitted>, target: (job: Job) => string): Promise<number> {
  const { finished } = await submitAndWait(conn, flags, send);
  const saved = await saveFiles(conn, finished, target);
  return printSaved(finished, saved, flags.json === true);
}

function pull(conn: Connection, remote: string, flags: OutFlags): Promise<number> {
  // Instance ids are letters, digits, _ and - (the service's rule): safe as directory names.
  const name = posix.basename(remote) || 'pulled';
  return download(conn, flags, (ids) => conn.client.pullFile({ path: remote, instance_ids: ids, ...timeoutField(flags) }), (job) => join(flags.out, job.instance_id, name));
}

function screenshot(conn: Connection, flags: OutFlags): Promise<number> {
  return download(conn, flags, (ids) => conn.client.screenshot({ instance_ids: ids, ...timeoutField(flags) }), (job) => join(flags.out, `${job.instance_id}.png`));
}

/** A command that waits for its jobs and saves their files under --out. */
function downloadCommand(program: Command, usage: string, description: string, outHelp: string): Command {
  return withConnection(withTargets(program.command(usage).description(description).option('--out <dir>', outHelp, '.'), { wait: false }));
}

export function registerDownloadCommands(program: Command): void {
  const pullCmd = downloadCommand(program, 'pull <remote-path>', 'read a file from instances, saved as DIR/<instance>/<name> (waits for the jobs)', 'where to save the files');
  pullCmd.action(tenantAction(pullCmd, (conn, remote: string, flags: OutFlags) => pull(conn, remote, flags), (_r: string, flags: OutFlags) => checkTargets(flags)));
  const shot = downloadCommand(program, 'screenshot', 'take a screenshot of instances, saved as DIR/<instance>.png (waits for the jobs)', 'where to save the PNGs');
  shot.action(tenantAction(shot, (conn, flags: OutFlags) => screenshot(conn, flags), (flags: OutFlags) => checkTargets(flags)));
}
