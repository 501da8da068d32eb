// Debian's `adb` (/usr/bin/adb) as tests and benchmarks use it: a private adb server on a free
// port, in the foreground as our child (`server nodaemon`), with its own HOME so its key and
// state stay out of the user's, killed by its pid at the end; and the adb client run against it.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { until } from './poll.js';

export const DEBIAN_ADB = '/usr/bin/adb';
/** For node:test's `skip`: false when Debian's adb is there, else the one-line reason. */
export const debianAdbSkip: false | string = existsSync(DEBIAN_ADB) ? false : 'Debian adb is not installed (/usr/bin/adb)';

export interface AdbRun {
  stdout: string;
  stderr: string;
  code: number | null;
}

export interface AdbServer {
  /** the server's TCP port on 127.0.0.1 */
  port: number;
  /** the server process (benchmarks read its CPU time) */
  pid: number;
  /** Runs the adb client against this server, with a deadline so a hang fails instead of blocking. */
  run(args: string[], timeoutMs?: number, input?: string): Promise<AdbRun>;
  /** `adb devices`: serial -> state */
  devices(): Promise<Map<string, string>>;
  waitForState(serial: string, state: string, timeoutMs?: number): Promise<void>;
  /** `adb connect ADDRESS` until the server lists it as `device` (adb connect exits 0 even when it fails). */
  connect(address: string, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** A port free now on 127.0.0.1 (taken by nobody at the moment it is returned). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export async function startAdbServer(): Promise<AdbServer> {
  const home = await mkdtemp(join(tmpdir(), 'adbfleet-adb-'));
  const port = await freePort();
  // ADB_EMU=0: the server would otherwise scan ports 5555-5585 for emulators.
  const env = { ...process.env, HOME: home, ANDROID_SDK_HOME: home, ADB_EMU: '0', ANDROID_ADB_SERVER_PORT: String(port) };
  const child: ChildProcess = spawn(DEBIAN_ADB, ['-P', String(port), 'server', 'nodaemon'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (d: Buffer) => {
    log = (log + d.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const close = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    await rm(home, { recursive: true, force: true });
  };
  try {
    // A client run before the server listens would start a daemon of its own: wait for the port.
    await until(() => `the adb server on port ${port} to listen; its log: ${log}`, () => child.exitCode === null && accepts(port), 10_000, 50);
  } catch (err) {
    await close();
    throw err;
  }

  const run = (args: string[], timeoutMs = 30_000, input?: string): Promise<AdbRun> =>
    new Promise((resolve) => {
      const c = execFile(
        DEBIAN_ADB,
        ['-P', String(port), ...args],
        { env, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 },
        (err, stdout, stderr) => {
          const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
          resolve({ stdout, stderr, code });
        },
      );
      if (input !== undefined) c.stdin?.end(input);
      else c.stdin?.end();
    });
  const devices = async (): Promise<Map<string, string>> => {
    const r = await run(['devices']);
    const m = new Map<string, string>();
    for (const line of r.stdout.split('\n').slice(1)) {
      const [serial, state] = line.trim().split(/\s+/);
      if (serial !== undefined && state !== undefined) m.set(serial, state);
    }
    return m;
  };
  const waitForState = async (serial: string, state: string, timeoutMs = 30_000): Promise<void> => {
    let last: string | undefined;
    await until(() => `${serial} to be ${state} (it is ${last ?? 'absent'})`, async () => (last = (await devices()).get(serial)) === state, timeoutMs, 200);
  };
  const connect = async (address: string, timeoutMs = 30_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    let said = '';
    while (Date.now() < deadline) {
      const r = await run(['connect', address], 10_000);
      said = r.stdout + r.stderr;
      if ((await devices()).get(address) === 'device') return;
      await new Promise((res) => setTimeout(res, 200));
    }
    throw new Error(`adb connect ${address}: not listed as device within ${timeoutMs} ms; it said ${said.trim()}`);
  };
  return { port, pid: child.pid!, run, devices, waitForState, connect, close };
}
