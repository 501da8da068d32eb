// The statements of the shared write batch (write-batch.ts): its transaction, the tenants' locks
// against a concurrent ownership change, and one SAVEPOINT per request.

export const TxSql = {
  begin: 'BEGIN',
  commit: 'COMMIT',
  rollback: 'ROLLBACK',
  savepoint: 'SAVEPOINT request',
  release: 'RELEASE SAVEPOINT request',
  rollbackTo: 'ROLLBACK TO SAVEPOINT request',
  /**
   * The transaction id, assigned now, before any job key is allocated: the queue's read horizon
   * (queue-horizon.ts) relies on every allocator of a key having an id before it allocates.
   */
  assignXid: 'SELECT pg_current_xact_id()',
  /**
   * Shared locks on the batch's tenants, in key order (no deadlock with an admin change, which
   * takes its tenants' locks exclusive, in key order too). Held to COMMIT: an ownership change of
   * these tenants' instances waits for the batch, and then sees (and cancels) the jobs it wrote.
   */
  lockTenantsShared: `SELECT pg_advisory_xact_lock_shared(20542, (k % 2147483647)::int)
    FROM unnest($1::bigint[]) AS k ORDER BY k`,
  lockTenantsExclusive: `SELECT pg_advisory_xact_lock(20542, (k % 2147483647)::int)
    FROM unnest($1::bigint[]) AS k ORDER BY k`,
} as const;
