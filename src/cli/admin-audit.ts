// `adbfleet admin audit`: the audit log (GET /admin/v1/audit) as a table, or as JSON. Filters pass
// through to the service, which refuses a bad one naming it; --all follows the pages to the end.
import type { Command } from 'commander';
import type { AdminClient, AuditEntry, AuditQuery } from '../client/index.js';
import { columns, escapedControls } from './tenant/text.js';

/** Runs requests with the admin client (admin.ts gives it the URL and token, and reports a refusal). */
export type AdminRun = (work: (client: AdminClient) => Promise<void>) => Promise<void>;

interface AuditOptions {
  tenant?: string;
  action?: string;
  requestId?: string;
  since?: string;
  until?: string;
  limit?: string;
  all?: boolean;
  json?: boolean;
}

/** The page size --all asks for when --limit is not given: the service's largest. */
const ALL_PAGE = '500';

export function registerAuditCommand(admin: Command, run: AdminRun): void {
  admin
    .command('audit')
    .description('the audit log: state-changing requests, newest first (a page of 50 unless --limit or --all)')
    .option('--tenant <tenant_id>', "entries whose actor is this tenant")
    .option('--action <action>', 'entries of this action (command.submit, token.revoke, ...)')
    .option('--request-id <id>', 'entries of requests with this x-request-id')
    .option('--since <time>', 'entries at or after this ISO 8601 time (2026-11-29 or 2026-11-29T10:00:00Z)')
    .option('--until <time>', 'entries before this ISO 8601 time')
    .option('--limit <n>', 'entries per page (1-500)')
    .option('--all', 'every matching entry, following the pages')
    .option('--json', 'print {entries, next_cursor} as JSON instead of a table')
    .action((o: AuditOptions) =>
      run(async (client) => {
        const query: AuditQuery = {};
        if (o.tenant !== undefined) query.tenant_id = o.tenant;
        // As typed: the service checks it against its actions and refuses another, naming it.
        if (o.action !== undefined) query.action = o.action as NonNullable<AuditQuery['action']>;
        if (o.requestId !== undefined) query.request_id = o.requestId;
        if (o.since !== undefined) query.since = o.since;
        if (o.until !== undefined) query.until = o.until;
        const limit = o.limit ?? (o.all === true ? ALL_PAGE : undefined);
        if (limit !== undefined) query.limit = limit;
        const entries: AuditEntry[] = [];
        let cursor: string | null = null;
        do {
          const page = await client.audit(cursor === null ? query : { ...query, cursor });
          entries.push(...page.entries);
          cursor = page.next_cursor;
        } while (o.all === true && cursor !== null);
        if (o.json === true) {
          process.stdout.write(`${JSON.stringify({ entries, next_cursor: cursor }, null, 2)}\n`);
          return;
        }
        process.stdout.write(table(entries));
        if (cursor !== null) process.stderr.write('more entries: add --all to list them all, or narrow with --since/--until\n');
      }),
    );
}

const HEADINGS = ['ID', 'AT', 'ACTOR', 'TOKEN', 'SOURCE', 'ACTION', 'OUTCOME', 'REQUEST ID', 'TARGETS'];

/** One line per entry, columns padded to their widest cell; the targets, of any width, come last.
 * An entry holds what any client sent (the path of a refused request, a refused body's ids), so
 * its control characters are shown as escapes, not run. */
function table(entries: readonly AuditEntry[]): string {
  const rows = entries.map((e) => [
    String(e.id),
    e.at,
    e.actor ?? '-',
    e.token_prefix ?? '-',
    e.source,
    e.action,
    [String(e.outcome.status), e.outcome.error_code, ...(e.outcome.task_id === null ? [] : [`task=${e.outcome.task_id}`])].join(' '),
    e.request_id,
    targets(e.targets),
  ]);
  // Not cut to the terminal: an operator reads or greps the whole entry.
  return `${columns([HEADINGS, ...rows.map((r) => r.map(escapedControls))], Infinity)}\n`;
}

/** "instance_ids=a,b tenant_id=t_..." (null as "none"); "-" when the request named nothing. */
function targets(t: AuditEntry['targets']): string {
  const parts = Object.entries(t).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : v === null ? 'none' : String(v)}`);
  return parts.length === 0 ? '-' : parts.join(' ');
}
