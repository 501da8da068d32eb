// `adbfleet install`, `uninstall` and `push` (SPEC §10): a local file is uploaded first, then one
// task per 100 instances names it, followed like `run` (--wait, --json, exit codes).
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { CliFailure, tenantAction, withConnection, type Connection } from './connection.js';
import { uploadFile } from './files.js';
import { printJobs } from './report.js';
import { checkTargets, printUnwaited, submitAll, submitAndWait, timeoutField, withTargets, type Submitted, type TargetFlags } from './targets.js';

const APK_TYPE = 'application/vnd.android.package-archive';

/** Submits `send` to the targets; waits and prints the jobs with --wait, else the tasks. */
async function operate<T extends Submitted>(conn: Connection, flags: TargetFlags, send: (ids: string[]) => Promise<T>): Promise<number> {
  if (flags.wait !== true) return printUnwaited(await submitAll(conn, flags, send, null), flags.json === true);
  const { submitted, finished } = await submitAndWait(conn, flags, send);
  // Each task with what its submission said besides its jobs (install's artifact_id and package).
  const tasks = finished.map((t, i) => ({ ...withoutJobs(submitted[i]!), ...t }));
  return printJobs(tasks, flags.json === true, 'tasks');
}

function withoutJobs<T extends Submitted>(task: T): Omit<T, 'cmd_jobs'> {
  const { cmd_jobs: _jobs, ...rest } = task;
  return rest;
}

interface InstallFlags extends TargetFlags {
  packageUrl?: string;
}

async function install(conn: Connection, apk: string | undefined, flags: InstallFlags): Promise<number> {
  const source = apk === undefined ? { install_package_url: flags.packageUrl ?? '' } : { artifact_id: (await uploadFile(conn, apk, APK_TYPE)).artifact_id };
  let said = false;
  return operate(conn, flags, async (ids) => {
    const r = await conn.client.install({ ...source, instance_id_list: ids, ...timeoutField(flags) });
    if (!said && flags.json !== true) {
      const p = r.package;
      const version = p.version_name === null ? '' : ` ${p.version_name}`;
      process.stderr.write(`installing ${p.name}${version} (version code ${p.version_code ?? 'none'}, ${p.size} bytes, artifact ${r.artifact_id})\n`);
      said = true;
    }
    return r;
  });
}

function checkInstall(apk: string | undefined, flags: InstallFlags): void {
  if ((apk === undefined) === (flags.packageUrl === undefined)) throw new CliFailure('give either an APK file or --package-url URL');
  checkTargets(flags);
}

interface PushFlags extends TargetFlags {
  mode?: string;
}

async function push(conn: Connection, local: string, remote: string, flags: PushFlags): Promise<number> {
  const { artifact_id } = await uploadFile(conn, local, 'application/octet-stream');
  return operate(conn, flags, (ids) =>
    conn.client.pushFile({ artifact_id, path: remote, instance_ids: ids, ...(flags.mode === undefined ? {} : { mode: flags.mode }), ...timeoutField(flags) }),
  );
}

function parseMode(raw: string): string {
  if (!/^[0-7]{3,4}$/.test(raw)) throw new InvalidArgumentError('must be 3 or 4 octal digits (0644, 755)');
  return raw;
}

export function registerOperationCommands(program: Command): void {
  const inst = withConnection(
    withTargets(
      program
        .command('install [apk]')
        .description('install an APK on instances: a local file (uploaded first) or --package-url')
        // Not --url: that names the service, as on every tenant command.
        .option('--package-url <url>', 'an http(s) URL the service fetches the APK from (its host on the operator\'s allow-list)'),
      { wait: true },
    ),
  );
  inst.action(tenantAction(inst, (conn, apk: string | undefined, flags: InstallFlags) => install(conn, apk, flags), checkInstall));

  const uninst = withConnection(withTargets(program.command('uninstall <package>').description('uninstall a package (pm uninstall) from instances'), { wait: true }));
  uninst.action(
    tenantAction(
      uninst,
      (conn, pkg: string, flags: TargetFlags) => operate(conn, flags, (ids) => conn.client.uninstall({ package_name: pkg, instance_ids: ids, ...timeoutField(flags) })),
      (_pkg: string, flags: TargetFlags) => checkTargets(flags),
    ),
  );

  const pushCmd = withConnection(
    withTargets(
      program
        .command('push <local-file> <remote-path>')
        .description('write a local file (uploaded first) to a path on instances')
        .option('--mode <octal>', 'the file\'s permission bits (default 0644)', parseMode),
      { wait: true },
    ),
  );
  pushCmd.action(
    tenantAction(pushCmd, (conn, local: string, remote: string, flags: PushFlags) => push(conn, local, remote, flags), (_l: string, _r: string, flags: PushFlags) => checkTargets(flags)),
  );
}
