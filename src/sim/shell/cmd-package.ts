// `pm` (and `cmd package`): list, path, clear, and install/uninstall of an APK pushed to the
// device or streamed on stdin (`install -S SIZE`, what adb install sends). install reads the package name and version out of the APK's binary manifest (apk.ts),
// so what a host installs is what `pm list packages` then shows.
import { createHash } from 'node:crypto';
import { ApkError, readApk } from '../../core/index.js';
import type { DeviceState } from '../device-state.js';
import { STRERROR } from '../storage.js';
import { fileBytes } from '../vfs.js';
import { JAVA_USAGE_EXIT, type CommandResult } from './command.js';
import { BufferedProc, WAIT, type Proc, type ReadResult } from './proc.js';

const usage = (msg: string): CommandResult => ({ err: `${msg}\n`, code: JAVA_USAGE_EXIT });

const USAGE =
  'Package manager (package) commands:\n  list packages [-f] [-s] [-3] [--show-versioncode] [FILTER]\n  path PACKAGE\n  clear PACKAGE\n' +
  '  install [-r] [-d] [-t] [-g] PATH\n  uninstall [-k] PACKAGE';

export function pm(args: string[], dev: DeviceState): CommandResult | Proc {
  const [sub, ...rest] = args;
  if (sub === undefined) return usage(USAGE);
  if (sub === 'list' && (rest[0] === 'packages' || rest[0] === 'package')) return list(rest.slice(1), dev);
  if (sub === 'install') return install(rest, dev);
  if (sub === 'uninstall') return uninstall(rest, dev);
  if (sub === 'path') {
    if (rest[0] === undefined) return usage('Error: no package specified');
    const p = dev.package(rest[0]);
    return p === undefined ? { code: 1 } : { out: `package:${p.path}\n` };
  }
  if (sub === 'clear') {
    if (rest[0] === undefined) return usage('Error: no package specified');
    if (dev.package(rest[0]) === undefined) return { out: 'Failed\n', code: 1 };
    dev.running.delete(rest[0]);
    return { out: 'Success\n' };
  }
  return usage(`Unknown command: ${sub}`);
}

function list(args: string[], dev: DeviceState): CommandResult {
  let filter = '';
  let withPath = false;
  let withVersion = false;
  let only: boolean | null = null;
  for (const a of args) {
    if (a === '-3') only = false;
    else if (a === '-s') only = true;
    else if (a === '-f') withPath = true;
    else if (a === '--show-versioncode') withVersion = true;
    else if (a.startsWith('-') && a.length > 1) return usage(`Error: Unknown option: ${a}`);
    else filter = a;
  }
  const out = dev.packages
    .filter((p) => (only === null || p.system === only) && p.name.includes(filter))
    .map((p) => `package:${withPath ? `${p.path}=` : ''}${p.name}${withVersion ? ` versionCode:${p.versionCode}` : ''}\n`)
    .join('');
  return { out };
}

function install(args: string[], dev: DeviceState): CommandResult | Proc {
  const flags: string[] = [];
  const paths: string[] = [];
  let size: number | null = null;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-S') size = Number(args[++i]);
    else if (a.startsWith('-')) flags.push(a);
    else paths.push(a);
  }
  const bad = flags.find((f) => !['-r', '-d', '-t', '-g'].includes(f));
  if (bad !== undefined) return usage(`Error: Unknown option: ${bad}`);
  // `-S SIZE`: the APK comes on stdin (adb install's streamed install: exec:cmd package install -S N).
  if (size !== null) {
    if (!Number.isSafeInteger(size) || size <= 0) return usage('Error: APK size must be a positive number of bytes');
    return new StdinInstall(size, (apk) => installApk(apk, 'stdin', flags, dev));
  }
  const path = paths[0];
  if (path === undefined) return usage('Error: must either specify a package size or an APK file');
  const node = dev.files.file(path);
  if (typeof node === 'string') return { err: `Error: Unable to open file: ${path}\nConsider using a file under /data/local/tmp/\nError: Can't open file: ${path} (${STRERROR[node]})\n`, code: 1 };
  return installApk(Buffer.concat(fileBytes(node, dev.props)), path, flags, dev);
}

function installApk(apk: Buffer, path: string, flags: string[], dev: DeviceState): CommandResult {
  let info;
  try {
    info = readApk(apk);
  } catch (e) {
    // A corrupt archive fails anywhere (an ApkError, a read out of range, zlib): all are "not an APK".
    const why = e instanceof ApkError ? e.message : `corrupt archive (${(e as Error).message})`;
    return { out: `Failure [INSTALL_PARSE_FAILED_NOT_APK: Failed to parse ${path}: ${why}]\n`, code: 1 };
  }
  const versionCode = info.versionCode ?? 0;
  const old = dev.package(info.packageName);
  if (old !== undefined && versionCode < old.versionCode && !flags.includes('-d')) {
    return { out: `Failure [INSTALL_FAILED_VERSION_DOWNGRADE: Downgrade detected: Update version code ${versionCode} is older than current ${old.versionCode}]\n`, code: 1 };
  }
  const tag = createHash('sha256').update(`${dev.serial}/${info.packageName}/${Date.now()}`).digest('base64url').slice(0, 22);
  const installed = { name: info.packageName, path: `/data/app/~~${tag}==/${info.packageName}-1/base.apk`, system: false, activity: '', versionCode, versionName: info.versionName ?? '' };
  if (old === undefined) dev.packages.push(installed);
  else Object.assign(old, { ...installed, system: old.system, activity: old.activity });
  dev.running.delete(info.packageName);
  return { out: 'Success\n' };
}

/** Reads SIZE bytes of APK from stdin, then installs it and answers as pm does. */
class StdinInstall implements Proc {
  readonly exits = false;
  wake = (): void => {};
  #pieces: Buffer[] = [];
  #got = 0;
  #result: BufferedProc | null = null;
  readonly #size: number;
  readonly #install: (apk: Buffer) => CommandResult;

  constructor(size: number, install: (apk: Buffer) => CommandResult) {
    this.#size = size;
    this.#install = install;
  }

  get exitCode(): number {
    return this.#result?.exitCode ?? 0;
  }

  read(max: number): ReadResult {
    return this.#result === null ? WAIT : this.#result.read(max);
  }

  stdin(data: Buffer): void {
    if (this.#result !== null) return;
    const piece = data.subarray(0, this.#size - this.#got);
    this.#pieces.push(Buffer.from(piece));
    this.#got += piece.length;
    if (this.#got === this.#size) this.#finish();
  }

  closeStdin(): void {
    if (this.#result === null) this.#finish();
  }

  kill(): void {
    this.#pieces = [];
    this.#result ??= new BufferedProc('', '', 1);
  }

  #finish(): void {
    const r = this.#got < this.#size ? { out: `Failure [INSTALL_FAILED_INVALID_APK: got ${this.#got} of ${this.#size} bytes]\n`, code: 1 } : this.#install(Buffer.concat(this.#pieces));
    this.#pieces = [];
    this.#result = new BufferedProc(r.out ?? '', r.err ?? '', r.code ?? 0);
    this.wake();
  }
}

function uninstall(args: string[], dev: DeviceState): CommandResult {
  const name = args.filter((a) => !a.startsWith('-'))[0];
  if (name === undefined) return usage('Error: package name not specified');
  const i = dev.packages.findIndex((p) => p.name === name);
  // A system app cannot be removed, only its updates (not modelled): both fail as on a device.
  if (i < 0 || dev.packages[i]!.system) return { out: 'Failure [DELETE_FAILED_INTERNAL_ERROR]\n', code: 1 };
  dev.packages.splice(i, 1);
  dev.running.delete(name);
  return { out: 'Success\n' };
}

/** `dumpsys package NAME`: the lines scripts read versions from. */
export function dumpPackage(name: string, dev: DeviceState): CommandResult {
  const p = dev.package(name);
  if (p === undefined) return { out: `Unable to find package: ${name}\n` };
  return { out: `Packages:\n  Package [${p.name}]:\n    codePath=${p.path.replace(/\/base\.apk$/, '')}\n    versionCode=${p.versionCode} minSdk=1 targetSdk=33\n    versionName=${p.versionName}\n` };
}
