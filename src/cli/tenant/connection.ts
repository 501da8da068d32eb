// Where the tenant commands meet the service: --url/--token (ADBFLEET_URL, ADBFLEET_TOKEN), the
// typed client, the exit codes, and the one line a person reads when a request cannot be made.
import type { Command, CommanderError } from 'commander';
import { AdbfleetError, createClient, type TenantClient } from '../../client/index.js';
import { readSettings } from '../config.js';

/** docs/CLI.md documents these. */
export const EXIT = {
  /** every job succeeded (or the request was done) */
  ok: 0,
  /** some job failed, timed out, was cancelled or has not finished */
  jobsFailed: 1,
  /** a usage error, a refused request, or a service that cannot be reached */
  refused: 2,
  /** Ctrl-C while waiting: 128 + SIGINT */
  interrupted: 130,
} as const;

/** An error whose message is all the user needs; it exits with `exitCode`. */
export class CliFailure extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.refused,
  ) {
    super(message);
  }
}

export interface Connection {
  client: TenantClient;
  url: string;
}

interface ConnectionFlags {
  url: string;
  token?: string;
}

/** Adds --url and --token to a tenant command, and makes its usage errors exit with 2. */
export function withConnection(cmd: Command): Command {
  const settings = readSettings(process.env, ['url', 'tenantToken']);
  return (
    cmd
      .option('--url <url>', 'service URL (ADBFLEET_URL)', settings.url)
      // No default shown: the help text would print the token.
      .option('--token <token>', 'tenant token (ADBFLEET_TOKEN)', settings.tenantToken ?? undefined)
      .exitOverride((err: CommanderError) => {
        // Help and --version come through here too, with exit code 0.
        process.exit(err.exitCode === 0 ? 0 : EXIT.refused);
      })
  );
}

export function connect(flags: ConnectionFlags): Connection {
  if (flags.token === undefined || flags.token === '') {
    throw new CliFailure('no tenant token: pass --token or set ADBFLEET_TOKEN');
  }
  return { client: createClient({ url: flags.url, token: flags.token }), url: flags.url };
}

/** One line saying what went wrong and which setting or request it concerns. */
export function explain(err: unknown, url: string): string {
  if (err instanceof CliFailure) return err.message;
  if (!(err instanceof AdbfleetError)) return err instanceof Error ? err.message : String(err);
  if (err.status === 0) return `cannot reach the service at ${url} (--url/ADBFLEET_URL): ${err.message}`;
  const body = err.body as { error_msg?: unknown } | null | undefined;
  const msg = typeof body?.error_msg === 'string' ? body.error_msg : err.message;
  const code = err.code === '' ? `HTTP ${err.status}` : `HTTP ${err.status} ${err.code}`;
  if (err.status === 401) return `the service at ${url} refused the token (--token/ADBFLEET_TOKEN): ${code}: ${msg}`;
  // A server-side failure is found in the service's log by its request id.
  const id = err.status >= 500 && err.requestId !== '' ? ` (request ${err.requestId})` : '';
  return `refused: ${code}: ${msg}${id}`;
}

/**
 * A command's action: runs it with a connection and exits with the code it returns; any error
 * becomes one line on stderr and exit 2 (or the CliFailure's code), never a stack trace.
 */
export function tenantAction<A extends unknown[]>(
  cmd: Command,
  run: (conn: Connection, ...args: A) => Promise<number>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const flags = cmd.opts<ConnectionFlags>();
    try {
      process.exitCode = await run(connect(flags), ...args);
    } catch (err) {
      process.stderr.write(`adbfleet: ${explain(err, flags.url)}\n`);
      process.exitCode = err instanceof CliFailure ? err.exitCode : EXIT.refused;
    }
  };
}
