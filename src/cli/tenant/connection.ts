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

/** ADBFLEET_URL and ADBFLEET_TOKEN, read once for every tenant command. */
let settings: { url: string; tenantToken: string | null } | null = null;
function tenantSettings(): { url: string; tenantToken: string | null } {
  settings ??= readSettings(process.env, ['url', 'tenantToken']);
  return settings;
}

/** Adds --url and --token to a tenant command, and makes its usage errors exit with 2. */
export function withConnection(cmd: Command): Command {
  return (
    cmd
      .option('--url <url>', 'service URL (ADBFLEET_URL)', tenantSettings().url)
      // The token's default stays out of the help text, which would print it.
      .option('--token <token>', 'tenant token (ADBFLEET_TOKEN)')
      .exitOverride((err: CommanderError) => {
        // Help and --version come through here too, with exit code 0.
        process.exit(err.exitCode === 0 ? 0 : EXIT.refused);
      })
  );
}

export function connect(flags: ConnectionFlags): Connection {
  const token = flags.token ?? tenantSettings().tenantToken;
  if (token === null || token === '') throw new CliFailure('no tenant token: pass --token or set ADBFLEET_TOKEN');
  return { client: createClient({ url: flags.url, token }), url: flags.url };
}

/**
 * fetch's own error says only "fetch failed": the reason (ECONNREFUSED ...) is its cause. Node's
 * fetch refuses some ports without trying them (the Fetch standard's "bad ports": 6000, 6665-6669,
 * 10080, ...), saying only "bad port": which port, and what to do, is said here.
 */
export function networkReason(err: AdbfleetError, url: string): string {
  let reason: unknown = err.cause;
  while (reason instanceof Error && reason.cause instanceof Error) reason = reason.cause;
  const message = reason instanceof Error ? reason.message : err.message;
  if (message !== 'bad port') return message;
  const port = URL.canParse(url) ? new URL(url).port : '';
  return `port ${port === '' ? '(default)' : port} is one Node's fetch refuses (unsafe port); use another port`;
}

/** One line saying what went wrong and which setting or request it concerns. */
export function explain(err: unknown, url: string): string {
  if (err instanceof CliFailure) return err.message;
  if (!(err instanceof AdbfleetError)) return err instanceof Error ? err.message : String(err);
  if (err.status === 0) return `cannot reach the service at ${url} (--url/ADBFLEET_URL): ${networkReason(err, url)}`;
  // Not the service's own error (a proxy's 502 page): the client's message quotes it in one line.
  if (!err.fromService) return err.message;
  const body = err.body as { error_msg?: unknown };
  const msg = typeof body.error_msg === 'string' ? body.error_msg : err.message;
  const code = err.code === '' ? `HTTP ${err.status}` : `HTTP ${err.status} ${err.code}`;
  if (err.status === 401) return `the service at ${url} refused the token (--token/ADBFLEET_TOKEN): ${code}: ${msg}`;
  // A server-side failure is found in the service's log by its request id.
  const id = err.status >= 500 && err.requestId !== '' ? ` (request ${err.requestId})` : '';
  // The client waited as Retry-After said and was refused again each time.
  const tried = err.status === 429 && err.tries > 1 ? ` (refused ${err.tries} times, waiting as Retry-After said between them)` : '';
  return `refused: ${code}: ${msg}${id}${tried}`;
}

/**
 * A command's action: checks its arguments (`check`, which throws a CliFailure for a usage error),
 * then runs it with a connection and exits with the code it returns. Any error becomes one line on
 * stderr and exit 2 (or the CliFailure's code), never a stack trace.
 */
export function tenantAction<A extends unknown[]>(
  cmd: Command,
  run: (conn: Connection, ...args: A) => Promise<number>,
  check: (...args: A) => void = () => {},
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const flags = cmd.opts<ConnectionFlags>();
    try {
      check(...args);
      process.exitCode = await run(connect(flags), ...args);
    } catch (err) {
      process.stderr.write(`adbfleet: ${explain(err, flags.url)}\n`);
      process.exitCode = err instanceof CliFailure ? err.exitCode : EXIT.refused;
    }
  };
}
