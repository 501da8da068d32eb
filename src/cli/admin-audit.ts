// `adbfleet admin audit`: the audit log (GET /admin/v1/audit) as a table, or as JSON. Filters pass
// through to the service, which refuses a bad one naming it; --all follows the pages to the end.
import type { Command } from 'commander';

/** A GET of the admin API (admin.ts gives it the URL and token): status and body text. */
export type AdminGet = (path: string) => Promise<{ ok: boolean; status: number; text: string }>;

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

interface AuditEntryJson {
  id: number;
  at: string;
  actor: string | null;
  token_prefix: string | null;
  source: string;
  request_id: string;
  action: string;
  targets: Record<string, unknown>;
  outcome: { status: number; error_code: string; task_id: string | null };
}

interface AuditPage {
  entries: AuditEntryJson[];
  next_cursor: string | null;
}

/** The page size --all asks for when --limit is not given: the service's largest. */
const ALL_PAGE = '500';

export function registerAuditCommand(admin: Command, get: AdminGet): void {
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
    .action(async (o: AuditOptions) => {
      const query = new URLSearchParams();
      for (const [name, value] of [
        ['tenant_id', o.tenant],
        ['action', o.action],
        ['request_id', o.requestId],
        ['since', o.since],
        ['until', o.until],
        ['limit', o.limit ?? (o.all === true ? ALL_PAGE : undefined)],
      ] as const) {
        if (value !== undefined) query.set(name, value);
      }
      const entries: AuditEntryJson[] = [];
      let cursor: string | null = null;
      do {
        if (cursor !== null) query.set('cursor', cursor);
        const res = await get(`/audit?${query.toString()}`);
        if (!res.ok) {
          process.stderr.write(`HTTP ${res.status}: ${res.text}\n`);
          process.exitCode = 1;
          return;
        }
        const page = JSON.parse(res.text) as AuditPage;
        entries.push(...page.entries);
        cursor = page.next_cursor;
      } while (o.all === true && cursor !== null);
      if (o.json === true) {
        process.stdout.write(`${JSON.stringify({ entries, next_cursor: cursor }, null, 2)}\n`);
        return;
      }
      process.stdout.write(table(entries));
      if (cursor !== null) process.stderr.write('more entries: add --all to list them all, or narrow with --since/--until\n');
    });
}

const HEADINGS = ['ID', 'AT', 'ACTOR', 'TOKEN', 'SOURCE', 'ACTION', 'OUTCOME', 'REQUEST ID', 'TARGETS'];

/** One line per entry, columns padded to their widest cell; the targets, of any width, come last. */
export function table(entries: readonly AuditEntryJson[]): string {
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
  const all = [HEADINGS, ...rows];
  const widths = HEADINGS.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  return all.map((r) => `${r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')}\n`).join('');
}

/** "instance_ids=a,b tenant_id=t_..." (null as "none"); "-" when the request named nothing. */
function targets(t: Record<string, unknown>): string {
  const parts = Object.entries(t).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : v === null ? 'none' : String(v)}`);
  return parts.length === 0 ? '-' : parts.join(' ');
}
