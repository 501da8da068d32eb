// The change relay's statements (change-relay.ts): one channel per schema, its LISTEN, and the
// NOTIFY of a turn's payloads, sent after the commits they tell of, outside any transaction.
import { escapeIdentifier } from 'pg';

export const NotifySql = {
  listen: (channel: string) => `LISTEN ${escapeIdentifier(channel)}`,
  /** one statement for a turn's payloads ($2: text[]) */
  notify: 'SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p',
} as const;
