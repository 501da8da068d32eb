// `adbfleet admin ...`: the operator's client for the admin API (SPEC §8). It talks HTTP through
// the typed client (src/client), so it works the same against a local service or a remote one.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { AdbfleetError, createAdminClient, type AdminClient } from '../client/index.js';
import { LIMITS } from '../core/index.js';
import { registerAuditCommand } from './admin-audit.js';
import { readSettings } from './config.js';
import { parseInstances } from './instance-file.js';
import { networkReason } from './tenant/connection.js';

interface AdminGlobals {
  url: string;
  /** --token, else ADBFLEET_ADMIN_TOKEN (null when neither is given) */
  token: string | null;
  data: string;
}

function adminTokenFrom(opts: AdminGlobals): string {
  if (opts.token !== null) return opts.token;
  const file = join(opts.data, 'admin-token');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  throw new Error(`no admin token: pass --token, set ADBFLEET_ADMIN_TOKEN, or run where ${file} exists`);
}

/** The admin client for the options' URL and token (the token is looked up only when a command runs). */
function adminClient(opts: AdminGlobals): AdminClient {
  return createAdminClient({ url: opts.url, token: adminTokenFrom(opts) });
}

/**
 * What to print for an error the client threw: `HTTP <status>: <answer>` for a refusal (the
 * answer's JSON compact, as the service sent it). A service that cannot be reached throws instead,
 * naming the URL and where it came from; any other error is rethrown as it is.
 */
function refusal(opts: AdminGlobals, err: unknown): string {
  if (!(err instanceof AdbfleetError)) throw err;
  if (err.status === 0) {
    // fetch's own reason (ECONNREFUSED, ENOTFOUND, ...) lies under its "fetch failed".
    const cause = (err.cause as { cause?: { code?: string; message?: string } } | undefined)?.cause;
    throw new Error(`cannot reach the service at ${opts.url} (--url/ADBFLEET_URL): ${cause?.code ?? networkReason(err, opts.url)}`, { cause: err });
  }
  // Not the service's own error (a proxy's 502 page): the client's message quotes it in one line.
  return err.fromService ? `HTTP ${err.status}: ${JSON.stringify(err.body)}` : err.message;
}

/** Runs a command's requests; a refusal goes to stderr and the exit code is 1. */
async function run(opts: AdminGlobals, work: (client: AdminClient) => Promise<void>): Promise<void> {
  const client = adminClient(opts);
  try {
    await work(client);
  } catch (err) {
    process.stderr.write(`${refusal(opts, err)}\n`);
    process.exitCode = 1;
  }
}

/** One request; its answer printed as indented JSON. */
const show = (opts: AdminGlobals, send: (client: AdminClient) => Promise<unknown>): Promise<void> =>
  run(opts, async (client) => {
    process.stdout.write(`${JSON.stringify(await send(client), null, 2)}\n`);
  });

/** The file's text ("-": stdin); a file that cannot be read is named, as the tenant commands do. */
function readSource(source: string): string {
  try {
    return readFileSync(source === '-' ? 0 : source, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new Error(`${source}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`, { cause: err });
  }
}

const instances = (n: number): string => `${n} instance${n === 1 ? '' : 's'}`;

/** Sends the entries in requests of the bulk endpoint's limit, in order; stops at the first refused. */
async function importInstances(opts: AdminGlobals, source: string): Promise<void> {
  const entries = parseInstances(readSource(source), source);
  const client = adminClient(opts);
  let registered = 0;
  for (let from = 0; from < entries.length; from += LIMITS.instancesPerBulk) {
    const chunk = entries.slice(from, from + LIMITS.instancesPerBulk);
    try {
      registered += (await client.bulkInstances(chunk)).registered;
    } catch (err) {
      // The server numbers entries within the request: say where the request began in the file.
      process.stderr.write(
        `entries ${from}-${from + chunk.length - 1} of ${source} (the error's [index] counts from ${from}) were refused, none of them registered: ${refusal(opts, err)}\n` +
          `registered ${instances(registered)} before them\n`,
      );
      process.exitCode = 1;
      return;
    }
  }
  process.stdout.write(`registered ${instances(registered)}\n`);
}

export function registerAdminCommand(program: Command): void {
  const settings = readSettings(process.env, ['url', 'adminToken', 'dataDir']);
  const admin = program
    .command('admin')
    .description('manage tenants, tokens and instances, and read the audit log, through the admin API')
    .option('--url <url>', 'service URL (ADBFLEET_URL)', settings.url)
    .option('--token <token>', 'admin token (ADBFLEET_ADMIN_TOKEN, else <data>/admin-token)')
    .option('--data <dir>', 'data directory holding admin-token (ADBFLEET_DATA)', settings.dataDir);
  // The token's default stays out of the help text, which would print it.
  const globals = (): AdminGlobals => {
    const o = admin.opts<{ url: string; token?: string; data: string }>();
    return { url: o.url, token: o.token ?? settings.adminToken, data: o.data };
  };

  const tenant = admin.command('tenant').description('tenants');
  tenant
    .command('create <name>')
    .description('create a tenant; prints its first token (shown only once)')
    .action((name: string) => show(globals(), (c) => c.createTenant(name)));
  tenant.command('list').action(() => show(globals(), async (c) => ({ tenants: await c.listTenants() })));

  const token = admin.command('token').description("tenants' tokens");
  token
    .command('create <tenant_id>')
    .description('issue a further token for a tenant')
    .action((id: string) => show(globals(), (c) => c.issueToken(id)));
  token
    .command('revoke <tenant_id> <token_prefix>')
    .description("revoke a tenant's token by its prefix: its first 12 characters, as shown when it was issued")
    .action((id: string, prefix: string) => show(globals(), (c) => c.revokeToken(id, prefix)));

  const instance = admin.command('instance').description('instances');
  instance
    .command('add <instance_id> <adb_address>')
    .description('register an instance at host:port (its adbd) or adb-server://HOST:PORT/SERIAL (a device an adb server holds)')
    .option('--name <name>', 'instance name')
    .option('--zone <zone>', 'zone')
    .option('--tenant <tenant_id>', 'owner tenant')
    .action((id: string, address: string, o: { name?: string; zone?: string; tenant?: string }) =>
      show(globals(), (c) =>
        c.createInstance({
          instance_id: id,
          adb_address: address,
          ...(o.name === undefined ? {} : { instance_name: o.name }),
          ...(o.zone === undefined ? {} : { zone: o.zone }),
          ...(o.tenant === undefined ? {} : { tenant_id: o.tenant }),
        }),
      ),
    );
  instance
    .command('import <file>')
    .description(
      `register many instances from a file ("-": stdin), ${LIMITS.instancesPerBulk} per request, each request all or nothing: ` +
        'JSON (an array or one object per line: {"instance_id", "adb_address", "instance_name"?, "zone"?, "tenant_id"?}) ' +
        'or CSV lines instance_id,adb_address[,tenant_id[,zone[,instance_name]]]',
    )
    .action((file: string) => importInstances(globals(), file));
  instance
    .command('assign <instance_id> <tenant_id>')
    .description('give an instance to a tenant ("none" unassigns it)')
    .action((id: string, tenantId: string) => show(globals(), (c) => c.assignInstance(id, tenantId === 'none' ? null : tenantId)));
  instance
    .command('remove <instance_id>')
    .action((id: string) => show(globals(), (c) => c.deleteInstance(id)));
  instance.command('list').action(() => show(globals(), async (c) => ({ instances: await c.listInstances() })));

  registerAuditCommand(admin, (work) => run(globals(), work));
}
