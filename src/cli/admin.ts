// `adbfleet admin ...`: the operator's client for the admin API (SPEC §8). It talks HTTP, so it
// works the same against a local service or a remote one.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { LIMITS } from '../core/index.js';
import { registerAuditCommand } from './admin-audit.js';
import { readSettings } from './config.js';
import { parseInstances } from './instance-file.js';

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

async function request(opts: AdminGlobals, method: string, path: string, body?: unknown): Promise<{ ok: boolean; status: number; text: string }> {
  // Relative to the URL's own path, so a service behind a path prefix (https://h/adbfleet/) works.
  const base = opts.url.endsWith('/') ? opts.url : `${opts.url}/`;
  const url = new URL(`admin/v1${path}`, base);
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: {
        authorization: `Bearer ${adminTokenFrom(opts)}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(`cannot reach the service at ${opts.url} (--url/ADBFLEET_URL): ${cause?.code ?? cause?.message ?? (e as Error).message}`);
  }
  return { ok: res.ok, status: res.status, text: await res.text() };
}

async function call(opts: AdminGlobals, method: string, path: string, body?: unknown): Promise<void> {
  const res = await request(opts, method, path, body);
  if (!res.ok) {
    process.stderr.write(`HTTP ${res.status}: ${res.text}\n`);
    process.exitCode = 1;
    return;
  }
  process.stdout.write(`${JSON.stringify(JSON.parse(res.text), null, 2)}\n`);
}

/** Sends the entries in requests of the bulk endpoint's limit, in order; stops at the first refused. */
async function importInstances(opts: AdminGlobals, source: string): Promise<void> {
  const entries = parseInstances(source === '-' ? readFileSync(0, 'utf8') : readFileSync(source, 'utf8'), source);
  let registered = 0;
  for (let from = 0; from < entries.length; from += LIMITS.instancesPerBulk) {
    const chunk = entries.slice(from, from + LIMITS.instancesPerBulk);
    const res = await request(opts, 'POST', '/instances/bulk', { instances: chunk });
    if (!res.ok) {
      // The server numbers entries within the request: say where the request began in the file.
      process.stderr.write(
        `entries ${from}-${from + chunk.length - 1} of ${source} (the error's [index] counts from ${from}) were refused, none of them registered: HTTP ${res.status}: ${res.text}\n` +
          `registered ${registered} instances before them\n`,
      );
      process.exitCode = 1;
      return;
    }
    registered += (JSON.parse(res.text) as { registered: number }).registered;
  }
  process.stdout.write(`registered ${registered} instances\n`);
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
    .action((name: string) => call(globals(), 'POST', '/tenants', { name }));
  tenant.command('list').action(() => call(globals(), 'GET', '/tenants'));

  const token = admin.command('token').description("tenants' tokens");
  token
    .command('create <tenant_id>')
    .description('issue a further token for a tenant')
    .action((id: string) => call(globals(), 'POST', `/tenants/${encodeURIComponent(id)}/tokens`));
  token
    .command('revoke <tenant_id> <token_prefix>')
    .description("revoke a tenant's token by its prefix: its first 12 characters, as shown when it was issued")
    .action((id: string, prefix: string) =>
      call(globals(), 'DELETE', `/tenants/${encodeURIComponent(id)}/tokens/${encodeURIComponent(prefix)}`),
    );

  const instance = admin.command('instance').description('instances');
  instance
    .command('add <instance_id> <adb_address>')
    .description('register an instance at host:port (its adbd) or adb-server://HOST:PORT/SERIAL (a device an adb server holds)')
    .option('--name <name>', 'instance name')
    .option('--zone <zone>', 'zone')
    .option('--tenant <tenant_id>', 'owner tenant')
    .action((id: string, address: string, o: { name?: string; zone?: string; tenant?: string }) =>
      call(globals(), 'POST', '/instances', {
        instance_id: id,
        adb_address: address,
        ...(o.name === undefined ? {} : { instance_name: o.name }),
        ...(o.zone === undefined ? {} : { zone: o.zone }),
        ...(o.tenant === undefined ? {} : { tenant_id: o.tenant }),
      }),
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
    .action((id: string, tenantId: string) =>
      call(globals(), 'PUT', `/instances/${encodeURIComponent(id)}/tenant`, {
        tenant_id: tenantId === 'none' ? null : tenantId,
      }),
    );
  instance
    .command('remove <instance_id>')
    .action((id: string) => call(globals(), 'DELETE', `/instances/${encodeURIComponent(id)}`));
  instance.command('list').action(() => call(globals(), 'GET', '/instances'));

  registerAuditCommand(admin, (path) => request(globals(), 'GET', path));
}
