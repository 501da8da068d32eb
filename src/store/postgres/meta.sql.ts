// The store's own facts: its id (written with the schema) and the readiness probe's row.

export const MetaSql = {
  /** written and read back in one statement by ping() */
  probe: `INSERT INTO store_meta (key, value) VALUES ('probe', $1)
    ON CONFLICT (key) DO UPDATE SET value = excluded.value RETURNING value`,
} as const;
