// The store's own facts (migration 2): its identity and the readiness probe's row.

export const MetaSql = {
  hasMeta: "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'store_meta'",
  id: "SELECT value FROM store_meta WHERE key = 'id'",
  probeWrite: "INSERT INTO store_meta (key, value) VALUES ('probe', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
  probeRead: "SELECT value FROM store_meta WHERE key = 'probe'",
} as const;
