// Child processes for the tests that need real process boundaries: the simulator (so its journal
// outlives a killed service) and the service itself (so it can be killed with SIGKILL).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

/** The CLI from source (tests), or as users run it, compiled (benchmarks, after `npm run build`). */
export const SOURCE_ENTRY = ['--import', 'tsx', 'src/cli/main.ts'];
export const COMPILED_ENTRY = ['bin/adbfleet.js'];

/** Why COMPILED_ENTRY cannot be tested (dist missing, or older than a source file), or null. */
export function compiledCliProblem(): string | null {
  const built = resolve('dist/cli/main.js');
  if (!existsSync(built)) return `${built} is missing: the CLI is not built; run npm run build before this test`;
  const builtAt = statSync(built).mtimeMs;
  const newer = sourceFiles(resolve('src')).find((f) => statSync(f).mtimeMs > builtAt);
  return newer === undefined ? null : `${newer} changed after the CLI was built: run npm run build before this test`;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : [join(dir, e.name)]));
}

export interface Child {
  proc: ChildProcess;
  /** resolves with the first stdout line matching the pattern */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

export function startChild(args: string[], env: Record<string, string> = {}, nodeArgs: string[] = [], entry = SOURCE_ENTRY): Child {
  const proc = spawn(process.execPath, [...nodeArgs, ...entry, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    lines.push(line);
    for (const w of waiters) w();
  });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return {
    proc,
    waitFor(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          for (const line of lines) {
            const m = pattern.exec(line);
            if (m !== null) {
              cleanup();
              resolve(m);
              return;
            }
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; stderr: ${stderr.slice(-2000)}`));
        }, timeoutMs);
        const onExit = (): void => {
          cleanup();
          reject(new Error(`process exited before printing ${pattern}; stderr: ${stderr.slice(-2000)}`));
        };
        const cleanup = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
          proc.off('exit', onExit);
        };
        waiters.add(check);
        proc.once('exit', onExit);
        check();
      });
    },
    async kill(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliRun {
  proc: ChildProcess;
  /** what it has printed so far */
  stdout(): string;
  stderr(): string;
  done: Promise<CliResult>;
}

/** Runs the CLI with stdin closed and stdout and stderr piped (not a TTY), collecting all it prints. */
export function spawnCli(args: string[], env: Record<string, string> = {}, entry = SOURCE_ENTRY): CliRun {
  const proc = spawn(process.execPath, [...entry, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<CliResult>((resolve, reject) => {
    proc.once('error', reject);
    // 'close', not 'exit': the pipes are drained by then.
    proc.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { proc, stdout: () => stdout, stderr: () => stderr, done };
}

export function runCli(args: string[], env: Record<string, string> = {}, entry = SOURCE_ENTRY): Promise<CliResult> {
  return spawnCli(args, env, entry).done;
}

/** Starts `adbfleet sim` and returns its control URL and the instances' addresses. */
export async function startSimProcess(count: number): Promise<{ child: Child; control: string; addresses: string[] }> {
  const child = startChild(['sim', '--count', String(count), '--base-port', '0', '--control-port', '0']);
  const m = await child.waitFor(/^ready .*control=(\d+)/);
  const control = `http://127.0.0.1:${m[1]}`;
  const res = await fetch(`${control}/instances`);
  const instances = (await res.json()) as { address: string }[];
  return { child, control, addresses: instances.map((i) => i.address) };
}

/** Starts `adbfleet serve` on an ephemeral port and returns its URL. */
export async function startServeProcess(
  env: Record<string, string>,
  nodeArgs: string[] = [],
  entry = SOURCE_ENTRY,
): Promise<{ child: Child; url: string }> {
  const child = startChild(['serve', '--port', '0'], env, nodeArgs, entry);
  const m = await child.waitFor(/"msg":"adbfleet ready"/);
  const url = /"url":"([^"]+)"/.exec(m.input)?.[1];
  if (url === undefined) throw new Error(`no url in ${m.input}`);
  return { child, url };
}

/** Starts `adbfleet serve --role worker` (its port, ephemeral, serves /healthz, /readyz and
 * /metrics only): resolves once it is ready, with that port's URL. */
export async function startWorkerProcess(env: Record<string, string>, args: string[] = []): Promise<{ child: Child; url: string }> {
  const child = startChild(['serve', '--role', 'worker', '--port', '0', ...args], env);
  const m = await child.waitFor(/"msg":"adbfleet ready"/);
  const url = /"url":"([^"]+)"/.exec(m.input)?.[1];
  if (url === undefined) throw new Error(`no url in ${m.input}`);
  return { child, url };
}
