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
  /**
   * Locks on the batch's request ids ($1 tenant keys, $2 request ids), in the order of the lock
   * keys: two batches writing the same ids (retries sent to two nodes) would otherwise each insert
   * one and wait on the other's (the unique index), a deadlock. Taken in one order, the second
   * batch waits for the first to commit, then finds its tasks and replays them.
   */
  lockRequests: `SELECT pg_advisory_xact_lock(20544, k)
    FROM (SELECT DISTINCT hashtext(t::text || ':' || r) AS k FROM unnest($1::bigint[], $2::text[]) AS x(t, r)) AS keys
    ORDER BY k`,
  lockTenantsExclusive: `SELECT pg_advisory_xact_lock(20542, (k % 2147483647)::int)
    FROM unnest($1::bigint[]) AS k ORDER BY k`,
} as const;
