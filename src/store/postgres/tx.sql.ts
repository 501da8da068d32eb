// The statements of the shared write batch (write-batch.ts): its transaction, the tenants' locks
// against a concurrent ownership change, and one SAVEPOINT per request.

export const TxSql = {
  begin: 'BEGIN',
  commit: 'COMMIT',
  rollback: 'ROLLBACK',
  savepoint: 'SAVEPOINT request',
  release: 'RELEASE SAVEPOINT request',
  rollbackTo: 'ROLLBACK TO SAVEPOINT request',
  /** the writer's ($1) row in write_marks, made once before its first batch */
  createMark: 'INSERT INTO write_marks (writer, mark) VALUES ($1, 0) ON CONFLICT (writer) DO NOTHING',
  /**
   * The batch's mark ($2, on the writer $1's row) and the transaction id, assigned now, before any
   * job key is allocated: the queue's read horizon (queue-horizon.ts) relies on every allocator
   * of a key having an id before it allocates. The id and the backend are kept to end it if the
   * COMMIT is cut off.
   */
  assignXid: `WITH marked AS (UPDATE write_marks SET mark = $2 WHERE writer = $1)
    SELECT pg_current_xact_id()::text AS xid, pg_backend_pid() AS pid`,
  /** Ends backend $1 if it still runs transaction $2 (the low 32 bits of its id, as text: a pid is
   * reused once its backend ended), so a transaction whose COMMIT was cut off commits (if the
   * COMMIT reached it) or aborts now, not once the server notices the lost connection. */
  endTransaction: 'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = $1 AND backend_xid::text = $2',
  /** The writer's ($1) mark, as committed: FOR SHARE waits for a transaction still holding the row
   * to end, so the answer is final. */
  readMark: 'SELECT mark FROM write_marks WHERE writer = $1 FOR SHARE',
  forgetMark: 'DELETE FROM write_marks WHERE writer = $1',
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
